"""The e2e harness: regauth, a real registry, dockerd, skopeo and podman on loopback."""
