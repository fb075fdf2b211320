"""Board quality analytics: each board's own outcomes, per period (docs/analytics.md defines every figure).

    metrics.board_report(board=…, period=…) -> Report        the figures, by database aggregates
    metrics.discordance_register(board=…, period=…)          the amended reports, as a list
    charts.bar_chart(table) -> SafeString                    a server-rendered SVG of one table

Analytics only reads: it sits beside selectors.py on the import arrow (web/, api/, printing/ → analytics/
→ permissions.py → models/).
"""
