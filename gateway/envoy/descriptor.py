"""The descriptor set Envoy's gRPC-JSON transcoder reads, taken from the installed stubs.

Each generated ``*_pb2`` module carries its file's serialized FileDescriptorProto, google.api.http
annotations included, so the set can be rebuilt from the stubs alone: an installed
package needs neither the .proto files nor protoc at run time.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FileDescriptor
from google.rpc import error_details_pb2

from darkroom.v1 import admin_pb2, media_pb2

SERVICES = [
    media_pb2.DESCRIPTOR.services_by_name["MediaService"].full_name,
    admin_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name,
]
# error_details: the transcoder renders google.rpc.Status details (ErrorInfo, BadRequest).
ROOTS = [media_pb2.DESCRIPTOR, admin_pb2.DESCRIPTOR, error_details_pb2.DESCRIPTOR]


def _dependencies_first(roots: Iterable[FileDescriptor]) -> list[FileDescriptor]:
    ordered: list[FileDescriptor] = []
    seen: set[str] = set()

    def visit(file: FileDescriptor) -> None:
        if file.name in seen:
            return
        seen.add(file.name)
        for dependency in file.dependencies:
            visit(dependency)
        ordered.append(file)

    for root in roots:
        visit(root)
    return ordered


def descriptor_set() -> bytes:
    files = [
        descriptor_pb2.FileDescriptorProto.FromString(file.serialized_pb)
        for file in _dependencies_first(ROOTS)
    ]
    return descriptor_pb2.FileDescriptorSet(file=files).SerializeToString()


def write_descriptor_set(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(descriptor_set())
    return out
