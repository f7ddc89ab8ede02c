"""Crafted proxy files: each fault is refused at load with a clear error, before any prediction.

A forger can rewrite the header and recompute every hash, so the structural checks must hold
on their own; these tests forge files that way (``_forge``) unless the hash itself is the point.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from archgym.proxy import ProxyFormatError, ProxySimulator, fit_proxy
from archgym.proxy import archive


@pytest.fixture(params=["rf", "gbt"])
def tree_proxy(request, known_frame, space, known_metrics, tmp_path):
    small = {"rf": {"n_estimators": 4}, "gbt": {"max_iter": 5}}[request.param]
    proxy = fit_proxy(known_frame, space, known_metrics, kind=request.param, seed=0, model_params=small)
    return proxy.save(tmp_path / f"{request.param}.proxy")


def _forge(path, out, edit_header=None, edit_arrays=None):
    """Rewrite a proxy file through ``archive`` (so every hash is recomputed to match the edit)."""
    header, arrays = archive.read(path)
    arrays = {k: np.array(v) for k, v in arrays.items()}
    header.pop("arrays")
    if edit_header:
        edit_header(header)
    if edit_arrays:
        edit_arrays(arrays)
    return archive.write(out, header, arrays)


def _copy_zip(path, out, replace=None, extra=()):
    """Copy a zip member by member, ``replace(name, data)`` -> new bytes or None (drop), plus ``extra`` members."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            data = replace(info.filename, data) if replace else data
            if data is not None:
                dst.writestr(info.filename, data)
        for name, data in extra:
            dst.writestr(name, data)
    return out


def _internal(arrays, metric=0):
    """Index of the first internal (split) node of ``metric``'s first tree, and its left child."""
    left = arrays[f"{metric}/left"]
    i = int(np.flatnonzero(left >= 0)[0])
    return i, int(left[i])


@pytest.mark.parametrize(
    "fault, message",
    [
        ("child out of range", "left child .* points outside its tree"),
        ("self-loop", "left child .* points to itself"),
        ("cycle", "child .* points back to an earlier node \\(a cycle\\)"),
        ("feature out of range", "splits on feature 99; expected 0..5"),  # the space encodes to 6 features
        ("NaN threshold", "has a NaN threshold"),
    ],
)
def test_a_malformed_tree_is_refused_at_load(tree_proxy, tmp_path, fault, message):
    def edit(arrays):
        i, child = _internal(arrays)
        if fault == "child out of range":
            arrays["0/left"][i] = 10**9
        elif fault == "self-loop":
            arrays["0/left"][i] = i
        elif fault == "cycle":  # the left child's subtree leads back to the root
            node = child
            while arrays["0/left"][node] >= 0:
                node = int(arrays["0/left"][node])
            arrays["0/left"][node], arrays["0/right"][node] = 0, 0
        elif fault == "feature out of range":
            arrays["0/feature"][i] = 99
        else:
            arrays["0/threshold"][i] = np.nan

    forged = _forge(tree_proxy, tmp_path / "forged.proxy", edit_arrays=edit)
    with pytest.raises(ProxyFormatError, match="model of metric 'latency' is malformed: .*" + message):
        ProxySimulator.load(forged)


def test_a_model_for_another_feature_count_is_refused(tree_proxy, tmp_path):
    def edit(header):
        header["metrics"][1]["predictor"]["n_features"] = 9

    with pytest.raises(ProxyFormatError, match="metric 'power' takes 9 features; the design space encodes to 6"):
        ProxySimulator.load(_forge(tree_proxy, tmp_path / "f.proxy", edit_header=edit))


def test_a_member_that_inflates_beyond_the_bound_is_refused_before_reading(tree_proxy, tmp_path):
    bomb = _copy_zip(tree_proxy, tmp_path / "bomb.proxy", extra=[("arrays/pad.bin", bytes(64 * 2**20))])
    assert bomb.stat().st_size < 2**20  # 64 MiB of zeros compress to under 1 MiB
    with pytest.raises(ProxyFormatError, match=r"would inflate to 64\.\d MiB .* over the 32\.0 MiB limit"):
        ProxySimulator.load(bomb, max_bytes=32 * 2**20)


def test_an_oversized_header_is_refused(tree_proxy, tmp_path):
    def pad(name, data):
        return data + b" " * (archive.MAX_HEADER_BYTES + 1) if name == "proxy.json" else data

    with pytest.raises(ProxyFormatError, match="proxy.json is 16.0 MiB, over the 16.0 MiB limit"):
        ProxySimulator.load(_copy_zip(tree_proxy, tmp_path / "big-header.proxy", pad))


def test_a_member_larger_than_its_declared_shape_is_refused(tree_proxy, tmp_path):
    def grow(name, data):
        return data + bytes(8) if name == "arrays/0/threshold.bin" else data

    with pytest.raises(ProxyFormatError, match="member 'arrays/0/threshold.bin' holds \\d+ bytes; shape .* needs"):
        ProxySimulator.load(_copy_zip(tree_proxy, tmp_path / "grown.proxy", grow))


def test_a_missing_member_is_named(tree_proxy, tmp_path):
    def drop(name, data):
        return None if name == "arrays/1/value.bin" else data

    with pytest.raises(ProxyFormatError, match="array '1/value': member 'arrays/1/value.bin' is missing"):
        ProxySimulator.load(_copy_zip(tree_proxy, tmp_path / "dropped.proxy", drop))


def test_a_modified_member_fails_its_hash(tree_proxy, tmp_path):
    def flip(name, data):
        return data[:-8] + bytes(b ^ 0xFF for b in data[-8:]) if name == "arrays/0/value.bin" else data

    with pytest.raises(ProxyFormatError, match="array '0/value' fails its integrity check \\(SHA-256 mismatch\\)"):
        ProxySimulator.load(_copy_zip(tree_proxy, tmp_path / "flipped.proxy", flip))


def test_odd_dtypes_shapes_and_unused_arrays_are_refused(tree_proxy, tmp_path):
    for key, change, message in [
        ("dtype", "|O", "has dtype '\\|O'; expected one of"),
        ("shape", [-1], "has shape \\[-1\\]"),
        ("shape", "big", "has shape 'big'"),
    ]:
        def edit(name, data, key=key, change=change):
            if name != "proxy.json":
                return data
            document = json.loads(data)
            document["arrays"]["0/left"][key] = change
            return json.dumps(document).encode()

        with pytest.raises(ProxyFormatError, match=message):
            ProxySimulator.load(_copy_zip(tree_proxy, tmp_path / f"{key}.proxy", edit))
    unused = _forge(tree_proxy, tmp_path / "unused.proxy", edit_arrays=lambda a: a.update({"9/extra": np.zeros(3)}))
    with pytest.raises(ProxyFormatError, match="lists arrays that no metric uses"):
        ProxySimulator.load(unused)


def test_duplicate_and_too_many_members_are_refused(tree_proxy, tmp_path):
    with pytest.warns(UserWarning, match="Duplicate name"):
        twice = _copy_zip(tree_proxy, tmp_path / "twice.proxy", extra=[("proxy.json", b"{}")])
    with pytest.raises(ProxyFormatError, match="lists member 'proxy.json' twice"):
        ProxySimulator.load(twice)
    many = _copy_zip(tree_proxy, tmp_path / "many.proxy", extra=[(f"x/{i}", b"") for i in range(archive.MAX_MEMBERS)])
    with pytest.raises(ProxyFormatError, match=f"lists {archive.MAX_MEMBERS + 15} members"):
        ProxySimulator.load(many)


def test_format_version_1_files_are_refused_with_the_way_forward(tree_proxy, tmp_path):
    old = tmp_path / "v1.proxy"
    with zipfile.ZipFile(old, "w") as z:
        z.writestr("proxy.json", json.dumps({"format": "archgym-proxy", "format_version": 1}))
        z.writestr("models/000.skops", b"PK\x03\x04 not read")
    with pytest.raises(ProxyFormatError, match="format version 1 .*skops.*no longer reads.*archgym proxy train"):
        ProxySimulator.load(old)


def test_a_feature_encoding_that_changed_is_refused(tree_proxy, tmp_path):
    def rename(header):
        header["features"][0] = "mode=turbo"

    with pytest.raises(ProxyFormatError, match="features .* differ from this archgym's encoding.*retrain"):
        ProxySimulator.load(_forge(tree_proxy, tmp_path / "renamed.proxy", edit_header=rename))


def test_foreign_files_and_other_format_versions_are_refused(tree_proxy, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a proxy")
    with pytest.raises(ProxyFormatError, match="is not an archgym proxy file \\(not a readable zip archive"):
        ProxySimulator.load(text)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("proxy.json", json.dumps({"format": "something-else"}))
    with pytest.raises(ProxyFormatError, match="no 'archgym-proxy' marker"):
        ProxySimulator.load(other)
    no_header = tmp_path / "no-header.zip"
    with zipfile.ZipFile(no_header, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(ProxyFormatError, match="no proxy.json member"):
        ProxySimulator.load(no_header)
    newer = _forge(tree_proxy, tmp_path / "newer.proxy", edit_header=lambda h: h.update(format_version=99))
    with pytest.raises(ProxyFormatError, match="format version 99; this archgym reads version 2"):
        ProxySimulator.load(newer)
    with pytest.raises(FileNotFoundError):
        ProxySimulator.load(tmp_path / "missing.proxy")


def test_a_declared_size_of_gigabytes_is_refused_with_the_default_bound(tree_proxy, tmp_path):
    """A zip bomb's central directory declares what its members inflate to: 3 GiB is refused unread."""
    data = bytearray(tree_proxy.read_bytes())
    with zipfile.ZipFile(tree_proxy) as z:
        target = z.getinfo("arrays/0/value.bin")
    end = data.rindex(b"PK\x05\x06")  # end of central directory: where the directory starts
    entry = int.from_bytes(data[end + 16: end + 20], "little")
    while True:  # find the central-directory entry of the target member
        name_length = int.from_bytes(data[entry + 28: entry + 30], "little")
        if data[entry + 46: entry + 46 + name_length].decode() == target.filename:
            break
        entry += 46 + name_length + int.from_bytes(data[entry + 30: entry + 32], "little") + \
            int.from_bytes(data[entry + 32: entry + 34], "little")
    data[entry + 24: entry + 28] = (3 * 2**30).to_bytes(4, "little")  # uncompressed size: 3 GiB
    bomb = tmp_path / "bomb.proxy"
    bomb.write_bytes(bytes(data))
    with pytest.raises(ProxyFormatError, match=r"would inflate to 3\.0 GiB .* over the 1\.0 GiB limit"):
        ProxySimulator.load(bomb)
