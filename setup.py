"""Build hook: the darkroom.v1 gRPC stubs are generated from proto/ whenever the package is built.

Everything else about the distribution is declared in pyproject.toml. The stubs are not
tracked (they are protoc output), so a plain ``pip install .`` or ``python -m build``
must make them: ``build_py`` runs grpc_tools.protoc into the build tree, or into the
source tree for an editable install, as setuptools asks of build sub-commands.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
PROTO_ROOT = ROOT / "proto"


def generate_stubs(out: Path) -> list[Path]:
    from grpc_tools import protoc  # a build requirement, imported only when building

    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.glob("darkroom/v1/*.proto"))
    if not protos:
        raise RuntimeError(f"no .proto files under {PROTO_ROOT}/darkroom/v1")
    out.mkdir(parents=True, exist_ok=True)
    well_known = Path(protoc.__file__).parent / "_proto"
    argv = [
        "protoc", f"-I{PROTO_ROOT}", f"-I{well_known}",
        f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}", *protos,
    ]  # fmt: skip
    if protoc.main(argv) != 0:
        raise RuntimeError("grpc_tools.protoc failed on " + " ".join(protos))
    return sorted((out / "darkroom" / "v1").glob("*_pb2*.py*"))


class BuildPyWithStubs(build_py):
    def run(self) -> None:
        super().run()
        target = ROOT if self.editable_mode else Path(self.build_lib)
        self._stubs = [str(p) for p in generate_stubs(target)]

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return [*super().get_outputs(include_bytecode), *getattr(self, "_stubs", [])]


setup(cmdclass={"build_py": BuildPyWithStubs})
