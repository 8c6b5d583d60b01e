"""Composition root: adapters from config → services → a grpc.aio server.

``create_server`` is what both ``darkroom server`` and the tests call; it binds the
configured port (0 = any free one) and returns the running ``App``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer as AsyncHealthServicer
from grpc_reflection.v1alpha import reflection
from sqlalchemy import Engine

from darkroom.v1 import admin_pb2, admin_pb2_grpc, media_pb2, media_pb2_grpc
from server.adapters.blob.local import LocalBlobStore
from server.adapters.blob.s3 import S3BlobStore, S3Location, make_client
from server.adapters.blob.scratch import ProcessScratch
from server.adapters.clock import SystemClock
from server.adapters.codecs.pillow.codec import PillowImageCodec
from server.adapters.codecs.pyav_video import PyAvVideoCodec
from server.adapters.db.album_repo import SqlAlbumRepo
from server.adapters.db.category_repo import SqlCategoryRepo
from server.adapters.db.engine import make_engine, migrate
from server.adapters.db.key_repo import SqlKeyRepo
from server.adapters.db.media_repo import SqlMediaRepo
from server.adapters.db.user_repo import SqlUserRepo
from server.adapters.db.variable_store import SqlVariableStore
from server.adapters.fetch.source_fetcher import SafeSourceFetcher
from server.adapters.metrics import ServerMetrics
from server.adapters.workers import WorkerPool
from server.api.admin_servicer import AdminServicer
from server.api.interceptors import AccessLog, ObservedAuthenticator
from server.api.media_servicer import MediaServicer
from server.config import ServerConfig
from server.domain.derivatives import DerivativeSizes
from server.domain.errors import RefusedToStart, StorageFailure
from server.domain.ids import IdCodec
from server.ports import Clock
from server.services.admin import AdminService
from server.services.auth import Authenticator
from server.services.credentials import Credentials, check_secret, load_or_create_secret
from server.services.flood import FloodGuard
from server.services.fsck import Fsck
from server.services.image_view import MediaPresenter, PublicUrls
from server.services.ingest import IngestService
from server.services.media import MediaService
from server.services.media_processing import MediaProcessor
from server.services.preflight import MediaLimits
from server.services.reaper import ExpiryReaper
from server.services.scratch_reclaim import ScratchReclaimer
from server.services.settings import SettingsService

log = logging.getLogger(__name__)
DEFAULT_ID_PADDING = 999
GRACE_S = 5.0


@dataclass
class Components:
    """Everything built from one config; the CLI uses it without a gRPC server."""

    config: ServerConfig
    auth: Authenticator
    ingest: IngestService
    media: MediaService
    admin: AdminService
    reaper: ExpiryReaper
    scratch: ScratchReclaimer
    fsck: Fsck
    pool: WorkerPool
    metrics: ServerMetrics
    process_scratch: ProcessScratch = field(repr=False)
    engine: Engine = field(repr=False)
    blob_store: LocalBlobStore | S3BlobStore = field(repr=False)


def make_blob_store(config: ServerConfig) -> LocalBlobStore | S3BlobStore:
    """The configured store, with this process's scratch (``.scratch``) beside it."""
    if config.storage == "s3":
        where = S3Location(
            endpoint=config.s3_endpoint,
            bucket=config.s3_bucket,
            region=config.s3_region,
            access_key_id=config.s3_access_key_id,
            secret_access_key=config.s3_secret,
            path_style=config.s3_path_style,
        )
        return S3BlobStore(
            make_client(where),
            config.s3_bucket,
            config.data_dir / "scratch",
            config.s3_multipart_threshold_mb * 1024 * 1024,
        )
    return LocalBlobStore(config.media_dir)


async def _reachable(blobs: LocalBlobStore | S3BlobStore, config: ServerConfig) -> None:
    try:
        await blobs.check()
    except StorageFailure as failure:
        raise RefusedToStart(
            f"S3 bucket {config.s3_bucket!r} at {config.s3_endpoint} is not usable "
            f"({failure.metadata.get('error', failure)}): check DARKROOM_S3_ENDPOINT, "
            "DARKROOM_S3_BUCKET and the keys (docs/deploy.md)"
        ) from failure


async def build_services(config: ServerConfig, clock: Clock | None = None) -> Components:
    clock = clock or SystemClock()
    config.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(config.database_url)
    await asyncio.to_thread(migrate, engine)
    variables = SqlVariableStore(engine)
    users = SqlUserRepo(engine)
    keys = SqlKeyRepo(engine)
    albums = SqlAlbumRepo(engine)
    categories = SqlCategoryRepo(engine)
    media_repo = SqlMediaRepo(engine)

    # The id codec must never change once ids are handed out: persist it on first start.
    salt = await variables.get_or_create("crypt_salt", config.id_salt or secrets.token_hex(4))
    padding = int(
        await variables.get_or_create(
            "id_padding",
            str(config.id_padding if config.id_padding is not None else DEFAULT_ID_PADDING),
        )
    )
    ids = IdCodec(salt, padding)
    secret = await asyncio.to_thread(load_or_create_secret, config.secret_path)
    await check_secret(variables, secret, config.secret_path)
    credentials = Credentials(secret, ids)
    blobs = make_blob_store(config)
    await _reachable(blobs, config)
    scratch = ScratchReclaimer(blobs.scratch, media_repo, blobs, config.scratch_sweep_interval_s)
    pool = WorkerPool(config.workers, config.processing_timeout_s)
    metrics = ServerMetrics()
    metrics.watch_pool(pool)
    urls = PublicUrls(
        base_url=config.public_base_url,
        image_route=config.image_route,
        video_route=config.video_route,
        seo_urls=config.seo_urls,
        timezone=config.timezone,
        thumb_width=config.thumb_width,
        thumb_height=config.thumb_height,
        media_base_url=config.media_base_url,
    )
    presenter = MediaPresenter(urls, ids)
    settings = SettingsService(variables, max_upload_mb=config.max_upload_mb)
    fetcher = SafeSourceFetcher(
        timeout_s=config.url_fetch_timeout_s,
        max_redirects=config.url_fetch_max_redirects,
        allow_private=config.url_fetch_allow_private,
        public_base_url=config.public_base_url,
        trusted_hosts=frozenset(
            host.strip().lower()
            for host in config.url_fetch_trusted_hosts.split(",")
            if host.strip()
        ),
    )
    limits = MediaLimits(
        max_pixels=config.max_image_pixels,
        max_side=config.max_image_side,
        max_frames=config.max_frames,
        max_animation_pixels=config.max_animation_pixels,
        max_video_duration_s=config.max_video_duration_s,
        max_video_side=config.max_video_side,
        max_video_frames=config.max_video_frames,
    )
    sizes = DerivativeSizes(config.thumb_width, config.thumb_height, config.medium_size)
    media = MediaService(
        media=media_repo,
        users=users,
        albums=albums,
        blobs=blobs,
        secrets=credentials,
        ids=ids,
        presenter=presenter,
        clock=clock,
    )
    return Components(
        config=config,
        auth=ObservedAuthenticator(keys, variables, credentials),
        ingest=IngestService(
            media=media_repo,
            albums=albums,
            categories=categories,
            blobs=blobs,
            processor=MediaProcessor(
                image=PillowImageCodec(pool, sizes, metrics),
                video=PyAvVideoCodec(pool, sizes, config.video_deadline_s, metrics),
                limits=limits,
                metrics=metrics,
            ),
            fetcher=fetcher,
            flood=FloodGuard(media_repo, metrics),
            settings=settings,
            secrets=credentials,
            ids=ids,
            presenter=presenter,
            clock=clock,
            metrics=metrics,
        ),
        media=media,
        admin=AdminService(
            users=users,
            keys=keys,
            albums=albums,
            categories=categories,
            variables=variables,
            settings=settings,
            secrets=credentials,
            ids=ids,
            clock=clock,
        ),
        reaper=ExpiryReaper(media_repo, media, clock, config.reaper_interval_s, metrics),
        scratch=scratch,
        fsck=Fsck(media_repo, blobs, blobs.scratch, scratch, ids),
        pool=pool,
        metrics=metrics,
        process_scratch=blobs.scratch,
        engine=engine,
        blob_store=blobs,
    )


@dataclass
class App:
    server: grpc.aio.Server
    port: int
    services: Components
    tasks: list[asyncio.Task[None]]
    health: AsyncHealthServicer
    metrics_port: int = 0

    async def stop(self, grace: float = GRACE_S) -> None:
        """Drain, then stop: health says NOT_SERVING at once (Envoy stops routing here),
        new calls are refused, and calls in flight get ``grace`` seconds to finish."""
        await self.health.enter_graceful_shutdown()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.server.stop(grace)
        self.services.metrics.close()
        await asyncio.to_thread(self.services.process_scratch.close)
        self.services.blob_store.close()
        self.services.pool.shutdown()
        self.services.engine.dispose()


async def create_server(config: ServerConfig, clock: Clock | None = None) -> App:
    services = await build_services(config, clock)
    # Own scratch first (its lock taken), then reclaim that of processes that are gone.
    await asyncio.to_thread(services.process_scratch.own_dir)
    await services.scratch.reclaim()
    max_message = config.max_message_bytes
    server = grpc.aio.server(
        interceptors=[AccessLog(services.metrics)],
        options=[
            ("grpc.max_receive_message_length", max_message),
            ("grpc.max_send_message_length", max_message),
        ],
    )
    media_pb2_grpc.add_MediaServiceServicer_to_server(
        MediaServicer(services.auth, services.ingest, services.media), server
    )
    admin_pb2_grpc.add_AdminServiceServicer_to_server(
        AdminServicer(services.auth, services.admin), server
    )
    health_servicer = AsyncHealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    service_names = [
        media_pb2.DESCRIPTOR.services_by_name["MediaService"].full_name,
        admin_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name,
    ]
    reflection.enable_server_reflection(
        [*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    port = server.add_insecure_port(f"{config.grpc_host}:{config.grpc_port}")
    if port == 0:
        raise OSError(f"cannot bind {config.grpc_host}:{config.grpc_port}")
    # Loopback only, whatever grpc_host is: metrics are for a local scraper, never public.
    metrics_port = services.metrics.serve("127.0.0.1", config.metrics_port)
    await server.start()
    for name in ["", *service_names]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    tasks = [
        asyncio.create_task(services.reaper.run(), name="expiry-reaper"),
        asyncio.create_task(services.scratch.run(), name="scratch-sweeper"),
    ]
    if config.port_file is not None:
        config.port_file.write_text(str(port))
    log.info("darkroom gRPC server listening on %s:%d", config.grpc_host, port)
    return App(server, port, services, tasks, health_servicer, metrics_port)
