"""The address classifier every hop's dialled address goes through."""

from __future__ import annotations

import pytest

from server.adapters.fetch.address_policy import is_public_address

# --- address classifier (what every hop's dialled address goes through) -------------------


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("127.255.255.254", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("172.31.255.255", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("100.127.255.255", False),
        ("0.0.0.0", False),
        ("0.1.2.3", False),
        ("224.0.0.1", False),
        ("239.255.255.250", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("192.0.0.8", False),
        ("192.0.2.1", False),
        ("198.18.0.1", False),
        ("198.51.100.7", False),
        ("203.0.113.9", False),
        ("192.88.99.1", False),
        ("::", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("fd12:3456::1", False),
        ("fec0::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("::7f00:1", False),  # IPv4-compatible 127.0.0.1
        ("::808:808", False),  # IPv4-compatible addresses are deprecated altogether
        ("64:ff9b::7f00:1", False),
        ("64:ff9b::a00:1", False),
        ("64:ff9b:1::808:808", False),  # local-use NAT64 prefix
        ("2002:7f00:1::1", False),
        ("2002:a9fe:a9fe::1", False),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),  # Teredo, client 127.0.0.1
        ("2001:db8::1", False),
        ("3fff::1", False),
        ("100::1", False),
        ("fe80::1%2", False),
        ("8.8.8.8", True),
        ("1.1.1.1", True),
        ("100.128.0.1", True),
        ("172.32.0.1", True),
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::808:808", True),
        ("2002:808:808::1", True),
        ("2606:4700::1111", True),
        ("2a00:1450:4001:81c::200e", True),
    ],
)
def test_ip_classifier(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_ip_classifier_rejects_non_addresses() -> None:
    with pytest.raises(ValueError):
        is_public_address("example.com")
