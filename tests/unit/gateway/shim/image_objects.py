"""Chevereto ``image`` objects (docs/chevereto-compatibility.md §5.2) as the viewer gets them."""

from __future__ import annotations

from typing import Any


def image_object(**changes: Any) -> dict[str, Any]:
    image: dict[str, Any] = {
        "name": "Red-fox",
        "extension": "jpg",
        "size": 2512345,
        "width": 4000,
        "height": 3000,
        "date": "2024-10-10 16:58:00",
        "date_gmt": "2024-10-10 19:58:00",
        "title": "Red fox at dawn",
        "tags": [
            {"name": "fox", "url": "http://localhost/search/images/?q=fox"},
            {"name": "wildlife", "url": "http://localhost/search/images/?q=wildlife"},
        ],
        "description": "Taken from the hide.\nSecond line.",
        "nsfw": 0,
        "original_filename": "DSC_0042.JPG",
        "is_animated": 0,
        "type": "image",
        "id_encoded": "Ab12",
        "filename": "Red-fox.jpg",
        "mime": "image/jpeg",
        "url": "http://localhost/images/2024/10/10/Red-fox.jpg",
        "size_formatted": "2.5 MB",
        "image": {"url": "http://localhost/images/2024/10/10/Red-fox.jpg"},
        "thumb": {"url": "http://localhost/images/2024/10/10/Red-fox.th.jpg"},
        "medium": {"url": "http://localhost/images/2024/10/10/Red-fox.md.jpg"},
        "url_frame": "",
        "duration_time": "",
        "url_viewer": "http://localhost/image/Red-fox-at-dawn.Ab12",
        "path_viewer": "/image/Red-fox-at-dawn.Ab12",
        "url_short": "http://localhost/image/Ab12",
        "display_url": "http://localhost/images/2024/10/10/Red-fox.md.jpg",
        "display_width": "500",
        "display_height": 375,
        "how_long_ago": "2 hours ago",
        "display_title": "Red fox at dawn",
    }
    image.update(changes)
    return image


def video_object(**changes: Any) -> dict[str, Any]:
    """The example image object of Chevereto's API v1.1 documentation (trimmed)."""
    video: dict[str, Any] = {
        "name": "Badgers-animated-music-video",
        "extension": "mp4",
        "size": 3011299,
        "width": 496,
        "height": 360,
        "date_gmt": "2024-10-10 19:58:00",
        "title": "Badgers animated music video MrWeebl",
        "tags": [],
        "description": None,
        "nsfw": 0,
        "original_filename": "Badgers _ animated music video _ MrWeebl.mp4",
        "is_animated": 0,
        "duration": 73,
        "type": "video",
        "id_encoded": "ZfGd",
        "filename": "Badgers-animated-music-video.mp4",
        "mime": "video/mp4",
        "url": "http://localhost/images/2024/10/10/Badgers-animated-music-video.mp4",
        "size_formatted": "3 MB",
        "thumb": {"url": "http://localhost/images/2024/10/10/Badgers-animated-music-video.th.jpeg"},
        "url_frame": "http://localhost/images/2024/10/10/Badgers-animated-music-video.fr.jpeg",
        "medium": {"filename": None, "name": None, "mime": None, "extension": None, "url": None},
        "duration_time": "01:13",
        "url_viewer": "http://localhost/clip/Badgers-animated-music-video-MrWeebl.ZfGd",
        "path_viewer": "/clip/Badgers-animated-music-video-MrWeebl.ZfGd",
        "url_short": "http://localhost/clip/ZfGd",
        "display_url": "http://localhost/images/2024/10/10/Badgers-animated-music-video.fr.jpeg",
        "display_width": 496,
        "display_height": 360,
        "how_long_ago": "moments ago",
        "display_title": "Badgers animated music video MrWeebl",
    }
    video.update(changes)
    return video
