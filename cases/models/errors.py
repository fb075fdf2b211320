class FrozenRecordError(Exception):
    """Raised by a model when code tries to change a clinical record that is frozen.

    The services refuse first with a message for the user; this is the guard behind them
    (admin, shell, a future bug).
    """
