"""A tiny deterministic container image, built offline with the standard library only.

`build_image` writes the same single-layer image twice: as a docker-archive (what
`docker save` emits; `docker load`, `podman load` and `skopeo copy docker-archive:` read it)
and as an OCI image layout (`skopeo copy oci:DIR:TAG`). A different `content` gives
different digests.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
EPOCH = "1970-01-01T00:00:00Z"


@dataclass(frozen=True)
class BuiltImage:
    docker_archive: Path
    oci_layout: Path
    oci_tag: str
    # The image ID docker and podman show after loading the archive.
    config_digest: str
    # The digest a registry reports for the OCI manifest pushed from the layout as-is.
    oci_manifest_digest: str

    @property
    def image_id(self) -> str:
        return self.config_digest

    @property
    def oci_reference(self) -> str:
        """The `oci:` transport reference skopeo reads."""
        return f"oci:{self.oci_layout}:{self.oci_tag}"

    @property
    def archive_reference(self) -> str:
        """The `docker-archive:` transport reference skopeo reads."""
        return f"docker-archive:{self.docker_archive}"


def build_image(out: Path, *, content: str, tag: str = "regauth-e2e/hello:v1") -> BuiltImage:
    """Write `out/image.docker.tar` and `out/oci/`; `tag` names the image inside both."""
    out.mkdir(parents=True, exist_ok=True)
    layer = _layer_tar(content.encode())
    config = _canonical_json(_image_config(diff_id=_digest(layer)))
    docker_archive = out / "image.docker.tar"
    _write_docker_archive(docker_archive, tag=tag, config=config, layer=layer)
    oci_tag = tag.rsplit(":", 1)[1] if ":" in tag.rsplit("/", 1)[-1] else "latest"
    oci_layout = out / "oci"
    manifest = _write_oci_layout(oci_layout, tag=oci_tag, config=config, layer=layer)
    return BuiltImage(
        docker_archive=docker_archive,
        oci_layout=oci_layout,
        oci_tag=oci_tag,
        config_digest=_digest(config),
        oci_manifest_digest=_digest(manifest),
    )


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def _layer_tar(content: bytes) -> bytes:
    """An uncompressed tar holding /hello.txt, with fixed owner and mtime so it is reproducible."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, "hello.txt", content, mode=0o644)
    return buffer.getvalue()


def _image_config(*, diff_id: str) -> dict[str, Any]:
    return {
        "architecture": "amd64",
        "os": "linux",
        "created": EPOCH,
        "config": {"Cmd": ["/hello.txt"], "Env": ["PATH=/"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": EPOCH, "created_by": "tests/support/images.py"}],
    }


def _write_docker_archive(path: Path, *, tag: str, config: bytes, layer: bytes) -> None:
    layer_dir = _hex(layer)
    manifest = json.dumps(
        [
            {
                "Config": f"{_hex(config)}.json",
                "RepoTags": [tag],
                "Layers": [f"{layer_dir}/layer.tar"],
            }
        ]
    ).encode()
    with tarfile.open(path, "w") as tar:
        _add(tar, f"{_hex(config)}.json", config)
        _add(tar, f"{layer_dir}/VERSION", b"1.0")
        _add(tar, f"{layer_dir}/layer.tar", layer)
        _add(tar, "manifest.json", manifest)


def _write_oci_layout(root: Path, *, tag: str, config: bytes, layer: bytes) -> bytes:
    """Write the layout and return the manifest bytes (whose digest the registry will report)."""
    compressed = gzip.compress(layer, mtime=0)
    manifest = _canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": _digest(config), "size": len(config)},
            "layers": [
                {
                    "mediaType": OCI_LAYER_GZIP,
                    "digest": _digest(compressed),
                    "size": len(compressed),
                }
            ],
        }
    )
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    for blob in (config, compressed, manifest):
        (blobs / _hex(blob)).write_bytes(blob)
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": _digest(manifest),
                "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (root / "index.json").write_text(json.dumps(index))
    (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    return manifest


def _add(tar: tarfile.TarFile, name: str, data: bytes, *, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0
    tar.addfile(info, io.BytesIO(data))
