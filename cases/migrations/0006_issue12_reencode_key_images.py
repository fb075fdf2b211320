"""Key images stored before re-encoding at upload: re-encode them once, to pixels only (no EXIF, XMP,
comments or text chunks; at most 2400 px), so no clinical PDF carries their metadata either."""

import io
import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import migrations
from PIL import Image

from cases.teaching.images import clean_image

SUFFIX = {"JPEG": ".jpg", "PNG": ".png"}


def reencode(apps, schema_editor):
    KeyImage = apps.get_model("cases", "KeyImage")
    for key_image in KeyImage.objects.only("pk", "image").iterator():
        old = key_image.image.name
        try:
            with default_storage.open(old) as handle:
                data = handle.read()
            with Image.open(io.BytesIO(data)) as probe:
                detected = probe.format
            cleaned, stored_format = clean_image(data, detected)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            continue  # missing or unreadable: nothing to print from it anyway
        with Image.open(io.BytesIO(cleaned)) as done:
            width, height = done.size
        new = default_storage.save(f"key-images/{uuid.uuid4().hex}{SUFFIX[stored_format]}", ContentFile(cleaned))
        KeyImage.objects.filter(pk=key_image.pk).update(image=new, width=width, height=height)
        default_storage.delete(old)


class Migration(migrations.Migration):
    dependencies = [("cases", "0005_merge_20261201_2225")]

    operations = [migrations.RunPython(reencode, migrations.RunPython.noop)]
