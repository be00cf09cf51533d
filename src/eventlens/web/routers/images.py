"""Pictures: thumbnails rendered from the local bucket folder."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from eventlens.imaging import ImageRejected
from eventlens.web.deps import Images
from eventlens.web.images import LocalImageSource, PathRefused

router = APIRouter(include_in_schema=False)


@router.get("/thumb")
def thumbnail(images: Images, key: str) -> Response:
    if not isinstance(images, LocalImageSource):
        raise HTTPException(404, "no local image folder configured")
    try:
        data = images.thumbnail(key)
    except PathRefused as exc:
        raise HTTPException(403, str(exc)) from exc
    except FileNotFoundError as exc:
        raise HTTPException(404, f"no such image: {key!r}") from exc
    except ImageRejected as exc:
        raise HTTPException(415, str(exc)) from exc
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "max-age=300"})
