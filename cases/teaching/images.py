"""Key images as pixels only.

An uploaded photograph or screenshot can carry the patient's name, record number and dates in its
metadata: EXIF (camera, dates, GPS), XMP, a JPEG comment segment, PNG text chunks, an ICC profile's
description. Every key image is re-encoded at upload from its decoded pixels into a new image that
has none of them: colours converted to sRGB (the one profile assumed, and not embedded), the
orientation applied, the first frame only, at most MAX_SIDE pixels on the long side. Printing
re-encodes again on the way into a PDF, so a file stored before this rule never brings metadata in.

Text burned into the pixels is not found here: a person confirms there is none before an image goes
into a teaching copy. No Django here.
"""

import io

from PIL import Image, ImageCms, ImageOps

MAX_SIDE = 2400
JPEG_QUALITY = 90
_SRGB = ImageCms.createProfile("sRGB")


def _to_srgb(image: Image.Image) -> Image.Image:
    profile = image.info.get("icc_profile")
    if not profile:
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        mode = "RGBA" if "A" in image.getbands() else "RGB"
        return ImageCms.profileToProfile(image.convert(mode), source, _SRGB, outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # an unreadable profile: keep the pixels as they are, drop the profile


def _pixels_only(image: Image.Image) -> Image.Image:
    """A new image holding nothing but the pixels (no info dict, no profile)."""
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "transparency" in image.info or "A" in image.getbands() else "RGB")
    if image.mode == "LA":
        image = image.convert("RGBA")
    return Image.frombytes(image.mode, image.size, image.tobytes())


def clean_image(data: bytes, image_format: str) -> tuple[bytes, str]:
    """(bytes, format): JPEG stays JPEG, everything else becomes PNG; no metadata of any kind."""
    with Image.open(io.BytesIO(data)) as opened:
        opened.seek(0)
        image = ImageOps.exif_transpose(opened) or opened
        image = _to_srgb(image)
        image = _pixels_only(image)
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if image_format == "JPEG" and image.mode in ("RGB", "L"):
        image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        return out.getvalue(), "JPEG"
    image.save(out, format="PNG", optimize=True)
    return out.getvalue(), "PNG"
