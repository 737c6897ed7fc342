"""Image work with Pillow: header checks, processing an upload, rendering variants.

Everything here is CPU-bound and blocking; callers run it in a thread (asyncio.to_thread).
Pillow's global MAX_IMAGE_PIXELS is left alone: each call checks the decoded size against the
limit it is given, before any pixel is decoded.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import blurhash
from PIL import Image, ImageOps, UnidentifiedImageError

from node.media.names import sniff
from node.media.strip import MAX_ICC_BYTES, InvalidImage, strip

# Content type -> the one Pillow decoder allowed to open it (no guessing among plugins).
PIL_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}
OUTPUT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
FITS = ("clip", "contain", "max", "crop", "fill", "scale")
BLURHASH_SIDE = 64  # blurhash is computed on a thumbnail: fast, and it loses nothing visible
RESAMPLE = Image.Resampling.LANCZOS
# Showing an animation decodes each frame onto the whole canvas: frames x canvas pixels is its
# cost, as width x height is a still's, so it is bounded the same way, at what ten of the
# largest stills cost.
ANIMATION_PIXELS = 10  # times max_pixels


class ImageRejected(Exception):
    """An image we refuse; `status` and `code` map it onto an API error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Inspected:
    content_type: str
    width: int
    height: int


@dataclass(frozen=True)
class Processed:
    blob_hash: str  # hex SHA-256 of the stored bytes
    size: int
    width: int  # as displayed (EXIF orientation applied)
    height: int
    blurhash: str


@dataclass(frozen=True)
class Variant:
    """A normalised transformation request; `key` names its cached file."""

    width: int | None
    height: int | None
    fit: str
    output: str  # png | jpeg | webp
    quality: int

    @property
    def content_type(self) -> str:
        return OUTPUT_TYPES[self.output]

    @property
    def key(self) -> str:
        return f"w{self.width or 0}-h{self.height or 0}-{self.fit}-q{self.quality}.{self.output}"


def _open(fp: str | Path | IO[bytes], content_type: str, max_pixels: int) -> Image.Image:
    """Open (header only) with the decoder of `content_type`; refuse other formats and bombs."""
    try:
        im = Image.open(fp, formats=[PIL_FORMATS[content_type]])
    except Image.DecompressionBombError:
        raise _too_large(max_pixels) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ImageRejected(
            415, "not_an_image", f"The file is not a valid {content_type} image."
        ) from None
    if im.width < 1 or im.height < 1 or im.width * im.height > max_pixels:
        im.close()
        raise _too_large(max_pixels)
    return im


def _too_large(max_pixels: int) -> ImageRejected:
    return ImageRejected(
        422, "image_too_large", f"The image is larger than {max_pixels} pixels when decoded."
    )


def inspect(path: Path, declared: str, max_pixels: int) -> Inspected:
    """Check an uploaded file by its content: format matches `declared`, size within limits."""
    with path.open("rb") as f:
        found = sniff(f.read(16))
        if found != declared:
            raise mismatch(declared, found)
        f.seek(0)
        with _open(f, declared, max_pixels) as im:
            return Inspected(declared, im.width, im.height)


def mismatch(declared: str, found: str | None) -> ImageRejected:
    what = found or "not a supported image"
    return ImageRejected(
        415, "content_mismatch", f"The content ({what}) does not match the declared {declared}."
    )


def process(source: Path, target: Path, content_type: str, max_pixels: int) -> Processed:
    """Strip metadata from `source`, prove it decodes, and write the result to `target`."""
    data = source.read_bytes()
    if sniff(data[:16]) != content_type:
        raise mismatch(content_type, sniff(data[:16]))
    try:
        stripped, orientation, frames = strip(data, content_type)
    except InvalidImage as exc:
        raise ImageRejected(415, "not_an_image", str(exc)) from None
    del data
    with _open(io.BytesIO(stripped), content_type, max_pixels) as im:
        if frames * im.width * im.height > ANIMATION_PIXELS * max_pixels:
            raise ImageRejected(
                422,
                "image_too_large",
                f"The animation is larger than {ANIMATION_PIXELS * max_pixels} pixels when all"
                " its frames are decoded.",
            )
        try:
            im.seek(0)
            im.load()  # a full decode of the first frame: truncated or corrupt data fails here
        except (OSError, ValueError, SyntaxError, EOFError):
            raise ImageRejected(415, "not_an_image", "The image data is corrupt.") from None
        width, height = im.size
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        hash_text = _blurhash(im, orientation)
    digest = hashlib.sha256(stripped).hexdigest()
    with target.open("wb") as f:
        f.write(stripped)
        f.flush()
        os.fsync(f.fileno())  # durable before it is renamed into storage
    return Processed(digest, len(stripped), width, height, hash_text)


def _blurhash(im: Image.Image, orientation: int) -> str:
    thumb = im.copy()
    thumb.thumbnail((BLURHASH_SIDE, BLURHASH_SIDE))
    thumb = _upright(thumb, orientation)
    rgb = _flatten(thumb)
    x, y = (4, 3) if rgb.width >= rgb.height else (3, 4)
    return str(blurhash.encode(rgb, x_components=x, y_components=y))


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _upright(im: Image.Image, orientation: int) -> Image.Image:
    method = _TRANSPOSE.get(orientation)
    return im.transpose(method) if method is not None else im


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info


def _flatten(im: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """RGB, with any transparency composited onto `background`."""
    if _has_alpha(im):
        rgba = im.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, background)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return im.convert("RGB")


def render(source: Path, target: Path, content_type: str, spec: Variant, max_pixels: int) -> None:
    """Write the variant `spec` of the stored image at `source` to `target`.

    Animated images give a still of their first frame. No result is larger than the source
    (see `box`), so none has more than the `max_pixels` the source was checked against.
    """
    with _open(source, content_type, max_pixels) as im:
        orientation = im.getexif().get(0x0112, 1)
        draft = _draft_box(spec, orientation)
        if im.format == "JPEG" and draft:
            im.draft("RGB", draft)  # decode at a reduced scale when the result is small
        im.seek(0)
        im.load()
        frame = _upright(im, orientation if isinstance(orientation, int) else 1)
        icc = im.info.get("icc_profile")
        alpha = _has_alpha(frame) and spec.output != "jpeg"
        frame = frame.convert("RGBA") if alpha else _flatten(frame)
        out = _fit(frame, spec)
        # None larger than uploads keep (files stored before they dropped them), and always
        # named: PNG would otherwise take the one the frame carries.
        small = icc and len(icc) <= MAX_ICC_BYTES
        options: dict[str, object] = {"icc_profile": icc if small else None}
        if spec.output in ("jpeg", "webp"):
            options["quality"] = spec.quality
        if spec.output == "png":
            options["compress_level"] = 6
        out.save(target, spec.output.upper(), **options)


def step(side: int) -> int:
    """`side` rounded up to one of eight steps per doubling (16, 18, ..., 30, 32, 36, ...,
    64, 72, ..., 2048, 2304, ...; exact below 16): at most an eighth more than asked, and so
    few sizes that a picture has few variants to render and keep."""
    unit = 1 << max(0, side.bit_length() - 4)
    return -(-side // unit) * unit


def box(
    source: tuple[int, int], width: int | None, height: int | None, fit: str, cap: int
) -> tuple[int | None, int | None, str]:
    """The box (width, height, fit) a variant of a `source`-sized picture is rendered to,
    normalised so that one picture has one name: nothing is ever enlarged.

    When the aspect ratio is kept (one side given, or `clip`), only the side that binds is
    named, at most the source's; when the side that follows would pass `cap`, the box is that
    side at `cap` instead (both scaled down to fit). An exact box (`crop`, `fill`, `scale` of
    both sides) larger than the source is scaled down, its own aspect ratio kept, until it fits.
    """
    if width is None and height is None:
        return None, None, fit
    if width is not None and height is not None and fit != "clip":
        return (*_within(source, width, height), fit)
    sw, sh = source
    if width is not None and (height is None or width * sh <= height * sw):
        width = min(width, sw)
    elif height is not None and height < sh:
        return (None, height, "clip") if sw * height <= cap * sh else (cap, None, "clip")
    else:  # the whole picture: named by its width, however it was asked for
        width = min(sw, cap)
    return (width, None, "clip") if sh * width <= cap * sw else (None, cap, "clip")


def _within(source: tuple[int, int], width: int, height: int) -> tuple[int, int]:
    sw, sh = source
    scale = max(width / sw, height / sh)
    if scale <= 1:
        return width, height
    return max(1, min(sw, round(width / scale))), max(1, min(sh, round(height / scale)))


def _draft_box(spec: Variant, orientation: object) -> tuple[int, int] | None:
    if spec.width is None and spec.height is None:
        return None
    w, h = spec.width or spec.height or 1, spec.height or spec.width or 1
    if spec.fit == "crop":
        w = h = max(w, h)  # cropping needs the larger side at full size
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def _fit(im: Image.Image, spec: Variant) -> Image.Image:
    sw, sh = im.size
    # The caller normalised the box with its cap; here it is only kept within the source.
    w, h, fit = box(im.size, spec.width, spec.height, spec.fit, max(sw, sh))
    if w is None and h is None:
        return im
    if w is None or h is None:  # clip: one side binds, the other follows the aspect ratio
        return _resize(im, w / sw if w is not None else h / sh)  # type: ignore[operator]
    if fit == "scale":
        return im.resize((w, h), RESAMPLE, reducing_gap=3.0)
    if fit == "crop":
        return ImageOps.fit(im, (w, h), RESAMPLE)
    fitted = _resize(im, min(w / sw, h / sh))  # fill: all of the picture, centred in the box
    background = (255, 255, 255, 0) if im.mode == "RGBA" else (255, 255, 255)
    canvas = Image.new(im.mode, (w, h), background)
    canvas.paste(fitted, ((w - fitted.width) // 2, (h - fitted.height) // 2))
    return canvas


def _resize(im: Image.Image, scale: float) -> Image.Image:
    size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
    return im if size == im.size else im.resize(size, RESAMPLE, reducing_gap=3.0)
