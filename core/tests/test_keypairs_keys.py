"""SSH key material: generated pairs that OpenSSH itself reads, 4.1's MD5 fingerprint
checked against ``ssh-keygen``, and public keys refused with a 431 naming the
parameter."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest

from cumulo.keypairs import keys
from cumulo.sdk.errors import InvalidParameterValue

ssh_keygen = shutil.which("ssh-keygen")
needs_ssh_keygen = pytest.mark.skipif(ssh_keygen is None, reason="ssh-keygen not installed")


@pytest.fixture(scope="module")
def pair() -> keys.GeneratedPair:
    """One generated pair (RSA generation takes a moment)."""
    return keys.generate()


def _keygen(*args: str) -> str:
    assert ssh_keygen is not None
    done = subprocess.run([ssh_keygen, *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_generated_pair_is_rsa_2048_in_pem_and_openssh_form(pair: keys.GeneratedPair) -> None:
    assert pair.private_key.startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    assert pair.private_key.rstrip().endswith("-----END RSA PRIVATE KEY-----")
    parsed = keys.parse_public_key(pair.public_key)
    assert parsed.key_type == "ssh-rsa" and parsed.text == pair.public_key
    assert len(parsed.fingerprint) == 47 and parsed.fingerprint.count(":") == 15
    assert keys.generate().public_key != pair.public_key  # fresh every time


@needs_ssh_keygen
def test_openssh_derives_the_same_public_key_and_fingerprint(
    pair: keys.GeneratedPair, tmp_path: Path
) -> None:
    private = tmp_path / "id_rsa"
    private.write_text(pair.private_key)
    private.chmod(0o600)
    assert _keygen("-y", "-f", str(private)).split()[:2] == pair.public_key.split()[:2]
    public = tmp_path / "id_rsa.pub"
    public.write_text(pair.public_key + "\n")
    bits, md5, *_ = _keygen("-l", "-E", "md5", "-f", str(public)).split()
    assert bits == "2048"
    assert md5 == "MD5:" + keys.parse_public_key(pair.public_key).fingerprint


@needs_ssh_keygen
@pytest.mark.parametrize("kind", ["ed25519", "ecdsa"])
def test_keys_made_by_openssh_register_with_its_fingerprint(kind: str, tmp_path: Path) -> None:
    target = tmp_path / f"id_{kind}"
    _keygen("-q", "-t", kind, "-N", "", "-C", "me@example", "-f", str(target))
    line = (tmp_path / f"id_{kind}.pub").read_text().strip()
    parsed = keys.parse_public_key(line)
    assert parsed.text == line  # comment kept
    md5 = _keygen("-l", "-E", "md5", "-f", str(target) + ".pub").split()[1]
    assert md5 == "MD5:" + parsed.fingerprint


def test_base64_wrapped_key_as_ec2_import_sends_it(pair: keys.GeneratedPair) -> None:
    wrapped = base64.b64encode(pair.public_key.encode()).decode()
    assert keys.parse_public_key(wrapped) == keys.parse_public_key(pair.public_key)


@pytest.mark.parametrize(
    ("material", "why"),
    [
        ("", "must start with"),
        ("hello world", "must start with"),
        ("ssh-rsa", "nor Base64"),
        ("ssh-rsa not*base64", "not valid Base64"),
        ("ssh-rsa " + base64.b64encode(b"\x00\x00\x00\x07ssh-dss rest").decode(), "not an"),
        ("ssh-rsa " + base64.b64encode(b"\x00\x00\x00\x07ssh-rsa\x00").decode(), "does not parse"),
        ("-----BEGIN RSA PRIVATE KEY-----", "must start with"),
        ("bm90IGEga2V5", "must start with"),  # Base64 of "not a key"
    ],
)
def test_invalid_public_keys_are_431_naming_publickey(material: str, why: str) -> None:
    with pytest.raises(InvalidParameterValue, match=why) as err:
        keys.parse_public_key(material)
    assert "publickey" in err.value.errortext and err.value.errorcode == 431


def test_fingerprint_is_md5_colon_pairs() -> None:
    assert keys.fingerprint(b"") == "d4:1d:8c:d9:8f:00:b2:04:e9:80:09:98:ec:f8:42:7e"
