"""Every upload parameter of Chevereto's API (docs/chevereto-compatibility.md §4 and §11)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

import grpc
import isodate
import pytest

from darkroom.v1 import admin_pb2, media_pb2
from tests.conftest import admin_md
from tests.integration.test_upload_formats import upload
from tests.support import media
from tests.support.server import RunningServer, chevereto_error
from tests.support.stored import is_stored, open_stored, stored_bytes

PHOTO = media.jpeg(1600, 1200, seed=3)


def _when(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


def _lifetime(m: media_pb2.Media) -> timedelta:
    return _when(m.expiration_date_gmt) - _when(m.date_gmt)


@pytest.fixture(scope="module")
def guest_key(server: RunningServer) -> str:
    reply = server.admin_stub().GenerateGuestKey(
        admin_pb2.GenerateGuestKeyRequest(), metadata=admin_md(server)
    )
    return str(reply.guest_key)


def test_title_parameter_wins_and_is_cut_to_100_characters(
    server: RunningServer, user_key: str
) -> None:
    m = upload(server, user_key, PHOTO, "name.jpg", title="T" * 150)
    assert m.title == "T" * 100
    assert m.title_truncated == "T" * 25 + "..."
    assert m.url_viewer.endswith(f"/image/{'T' * 100}.{m.id_encoded}")


def test_title_falls_back_to_the_file_name(server: RunningServer, user_key: str) -> None:
    m = upload(server, user_key, PHOTO, "my__holiday - photo.jpg")
    assert m.title == "my holiday photo"


def test_description_parameter_else_exif_image_description(
    server: RunningServer, user_key: str
) -> None:
    m = upload(server, user_key, PHOTO, "a.jpg", description="by the lake")
    assert m.description == "by the lake"
    sample = media.fixture("long_description.jpg")
    m = upload(server, user_key, sample.read_bytes(), sample.name)
    assert m.description.startswith("Operation Mountain Viper put the soldiers")
    plain = upload(server, user_key, PHOTO, "b.jpg")
    assert not plain.HasField("description")


def test_tags_are_parsed_for_user_keys(server: RunningServer, user_key: str) -> None:
    raw = "sea,  sunset , sea,," + "x" * 33 + ",a/b,#,  sky  "
    m = upload(server, user_key, PHOTO, "t.jpg", tags=raw)
    assert [tag.name for tag in m.tags] == ["sea", "sunset", "sky"]
    assert m.tags_string == "sea, sunset, sky"
    assert m.tags[0].url == "http://darkroom.test/tag/sea"
    assert m.tags[0].url_key == "sea" and m.tags[0].name_safe_html == "sea"


def test_tags_are_ignored_for_the_guest_key(server: RunningServer, guest_key: str) -> None:
    m = upload(server, guest_key, PHOTO, "g.jpg", tags="sea,sky")
    assert list(m.tags) == [] and m.tags_string == ""


def test_album_is_kept_only_when_the_key_owns_it(server: RunningServer, guest_key: str) -> None:
    owner, owner_key = server.new_user()
    _, other_key = server.new_user()
    album = (
        server.admin_stub()
        .CreateAlbum(
            admin_pb2.CreateAlbumRequest(name="Trips"), metadata=[("x-api-key", owner_key)]
        )
        .album
    )
    assert album.owner == owner

    mine = upload(server, owner_key, PHOTO, "mine.jpg", album_id=album.id)
    theirs = upload(server, other_key, PHOTO, "theirs.jpg", album_id=album.id)
    guest = upload(server, guest_key, PHOTO, "guest.jpg", album_id=album.id)
    bogus = upload(server, owner_key, PHOTO, "bogus.jpg", album_id="!!nonsense!!")

    listed = server.media_stub().ListMedia(
        media_pb2.ListMediaRequest(album_id=album.id), metadata=[("x-api-key", owner_key)]
    )
    ids = {item.id_encoded for item in listed.media}
    assert ids == {mine.id_encoded}
    assert {theirs.id_encoded, guest.id_encoded, bogus.id_encoded}.isdisjoint(ids)


def test_category_is_kept_when_it_exists(server: RunningServer, user_key: str) -> None:
    category = (
        server.admin_stub()
        .CreateCategory(
            admin_pb2.CreateCategoryRequest(name=f"Nature {uuid.uuid4().hex[:6]}"),
            metadata=admin_md(server),
        )
        .category
    )
    m = upload(server, user_key, PHOTO, "c.jpg", category_id=category.id)
    assert m.category_id == category.id
    unknown = upload(server, user_key, PHOTO, "d.jpg", category_id=category.id + 1000)
    assert not unknown.HasField("category_id")


def test_width_downscales_and_records_the_source_md5(server: RunningServer, user_key: str) -> None:
    m = upload(server, user_key, PHOTO, "w.jpg", width=800)
    assert (m.width, m.height) == (800, 600)
    stored = stored_bytes(server, m.url)
    assert m.md5 == hashlib.md5(stored).hexdigest()
    assert m.HasField("source_md5") and m.source_md5 != m.md5
    with open_stored(server, m.url) as image:
        assert image.size == (800, 600)
    assert m.chain == 7  # still wider than 500
    same = upload(server, user_key, PHOTO, "same.jpg", width=1600)
    assert not same.HasField("source_md5") and same.width == 1600


def test_width_larger_than_the_image_is_refused(server: RunningServer, user_key: str) -> None:
    before = server.stored_files()
    with pytest.raises(grpc.RpcError) as failure:
        upload(server, user_key, PHOTO, "up.jpg", width=2000)
    assert chevereto_error(failure.value) == (
        610,
        "Target width is greater than the original image width",
    )
    assert server.stored_files() == before


@pytest.mark.parametrize(
    ("expiration", "lifetime"),
    [
        ("600", timedelta(seconds=600)),
        ("60", timedelta(seconds=300)),  # clamped up to 5 minutes
        ("99999999999", timedelta(seconds=31_536_000)),  # clamped down to a year
        ("PT1H", timedelta(hours=1)),
        ("P3D", timedelta(days=3)),
        ("PT90M", timedelta(minutes=90)),  # not a preset: via seconds
        ("soon please", timedelta(minutes=5)),  # garbage: Chevereto's 5 minutes
    ],
)
def test_expiration_rules(
    server: RunningServer, user_key: str, expiration: str, lifetime: timedelta
) -> None:
    m = upload(server, user_key, PHOTO, "e.jpg", expiration=expiration)
    assert _lifetime(m) == lifetime


def test_preset_months_are_added_on_the_calendar(server: RunningServer, user_key: str) -> None:
    m = upload(server, user_key, PHOTO, "p.jpg", expiration="P1M")
    assert _when(m.expiration_date_gmt) == _when(m.date_gmt) + isodate.parse_duration("P1M")


def test_no_expiration_when_zero_or_absent(server: RunningServer, user_key: str) -> None:
    for value in ("", "0"):
        m = upload(server, user_key, PHOTO, "z.jpg", expiration=value)
        assert not m.HasField("expiration_date_gmt")


def test_nsfw_flag(server: RunningServer, user_key: str) -> None:
    assert upload(server, user_key, PHOTO, "n.jpg", nsfw=True).nsfw == 1
    assert upload(server, user_key, PHOTO, "n.jpg", nsfw=False).nsfw == 0


def test_use_file_date_is_for_admins_only(server: RunningServer, user_key: str) -> None:
    sample = media.fixture("Canon_40D.jpg").read_bytes()
    by_admin = upload(server, server.admin_key, sample, "c40d.jpg", use_file_date=True)
    assert by_admin.date_gmt == "2008-05-30 15:56:01"
    assert "/images/2008/05/30/" in by_admin.url
    by_user = upload(server, user_key, sample, "c40d.jpg", use_file_date=True)
    assert by_user.date_gmt.startswith(str(datetime.now().year))


def test_name_collisions_get_a_16_hex_suffix(server: RunningServer, user_key: str) -> None:
    first = upload(server, user_key, PHOTO, f"clash-{uuid.uuid4().hex[:6]}.jpg")
    second = upload(server, user_key, PHOTO, first.original_filename)
    assert second.name.startswith(first.name) and len(second.name) == len(first.name) + 16
    assert is_stored(server, first.url) and is_stored(server, second.url)


def test_expiration_switched_off_and_guest_override(fresh_server: RunningServer) -> None:
    server = fresh_server
    stub = server.admin_stub()
    guest = stub.GenerateGuestKey(admin_pb2.GenerateGuestKeyRequest(), metadata=admin_md(server))
    stub.UpdateSettings(
        admin_pb2.UpdateSettingsRequest(
            settings=admin_pb2.Settings(auto_delete_guest_uploads="P1D")
        ),
        metadata=admin_md(server),
    )
    m = upload(server, guest.guest_key, PHOTO, "g.jpg", expiration="PT5M")
    assert _lifetime(m) == timedelta(days=1)

    stub.UpdateSettings(
        admin_pb2.UpdateSettingsRequest(
            settings=admin_pb2.Settings(enable_expirable_uploads=False)
        ),
        metadata=admin_md(server),
    )
    m = upload(server, server.admin_key, PHOTO, "n.jpg", expiration="PT1H")
    assert not m.HasField("expiration_date_gmt")


XMP_PANORAMA = b"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
 <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"
  xmlns:GPano="http://ns.google.com/photos/1.0/panorama/" GPano:ProjectionType="equirectangular">
  <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Summit at dawn</rdf:li></rdf:Alt></dc:title>
 </rdf:Description></rdf:RDF></x:xmpmeta>"""


def test_embedded_xmp_title_and_360_projection(server: RunningServer, user_key: str) -> None:
    data = media.encode(media.photo_like(1200, 600), "JPEG", quality=90, xmp=XMP_PANORAMA)
    m = upload(server, user_key, data, "IMG_0001.jpg")
    assert m.title == "Summit at dawn"
    assert m.is_360 == 1
    with open_stored(server, m.url) as stored:
        assert "xmp" not in stored.info  # read, then stripped like all metadata
    assert upload(server, user_key, data, "x.jpg", title="Mine").title == "Mine"


def test_formats_and_url_uploads_can_be_switched_off(fresh_server: RunningServer) -> None:
    server = fresh_server
    stub = server.admin_stub()
    stub.UpdateSettings(
        admin_pb2.UpdateSettingsRequest(
            settings=admin_pb2.Settings(
                upload_enabled_image_formats="jpg,png", enable_uploads_url=False
            )
        ),
        metadata=admin_md(server),
    )
    with pytest.raises(grpc.RpcError) as disabled:
        upload(server, server.admin_key, media.animated_gif(), "loop.gif")
    assert chevereto_error(disabled.value) == (614, "Disabled image format (gif)")
    assert upload(server, server.admin_key, PHOTO, "still-fine.jpg").extension == "jpg"
    with pytest.raises(grpc.RpcError) as no_urls:
        server.media_stub().Upload(
            media_pb2.UploadRequest(url="http://example.com/a.jpg"),
            metadata=admin_md(server),
        )
    assert chevereto_error(no_urls.value) == (403, "URL uploading is disabled")
    assert no_urls.value.code() == grpc.StatusCode.PERMISSION_DENIED
