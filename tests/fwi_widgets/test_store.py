"""fwi_widgets.project.store: atomic writes, checksums, previous versions, crash safety."""
from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import obspy
import pytest
import xarray as xr

from fwi_widgets.project import store
from fwi_widgets.project.store import CorruptFileError, CorruptFileWarning

REPO = Path(__file__).resolve().parents[2]


# --- helpers ----------------------------------------------------------------------------

def _dataset(seed: int) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    return xr.Dataset(
        {
            "VS": (("x", "z"), rng.normal(3500.0, 100.0, (6, 4))),
            "RHO": (("x", "z"), rng.normal(2700.0, 10.0, (6, 4)).astype(np.float32)),
        },
        coords={"x": np.linspace(0.0, 5000.0, 6), "z": np.linspace(-3000.0, 0.0, 4)},
        attrs={"name": f"model {seed}", "reference_frequency_in_hertz": 0.01},
    )


def _stream(seed: int) -> obspy.Stream:
    rng = np.random.default_rng(seed)
    start = obspy.UTCDateTime(2015, 4, 16, 18, 7, 43)
    traces = [
        obspy.Trace(rng.normal(size=500), header={"network": "XX", "station": "A01", "channel": "LHZ",
                                                 "starttime": start, "sampling_rate": 1.0}),
        obspy.Trace(rng.normal(size=300),
                    header={"network": "XX", "station": "A02", "channel": "LHN",
                            "starttime": start + 10.0, "sampling_rate": 2.0}),
    ]
    return obspy.Stream(traces)


# One entry per file kind: (file name, writer, reader, value(seed), equality check).
def _same_array(a, b):
    return a.dtype == b.dtype and np.array_equal(a, b)


def _same_dataset(a, b):
    return a.identical(b)


def _same_stream(a, b):
    return len(a) == len(b) and all(
        x.id == y.id and x.stats.starttime == y.stats.starttime and x.stats.sampling_rate == y.stats.sampling_rate
        and x.data.dtype == y.data.dtype and np.array_equal(x.data, y.data)
        for x, y in zip(a, b)
    )


KINDS = {
    "json": ("config.json", store.write_json, store.read_json,
             lambda seed: {"seed": seed, "periods": [70.0, 120.0 + seed], "name": f"café {seed}"}, lambda a, b: a == b),
    "npy": ("gradient.npy", store.write_npy, store.read_npy,
            lambda seed: np.random.default_rng(seed).normal(size=(20, 3)), _same_array),
    "netcdf": ("model.nc", store.write_netcdf, store.read_netcdf, _dataset, _same_dataset),
    "mseed": ("event.mseed", store.write_stream, store.read_stream, _stream, _same_stream),
}


def _run_child(code: str, env_fault: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop(store.FAULT_ENVIRONMENT_VARIABLE, None)
    if env_fault is not None:
        env[store.FAULT_ENVIRONMENT_VARIABLE] = env_fault
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def _temporaries(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp"))


# --- round trips and layout --------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_and_previous_version(tmp_path, kind):
    name, write, read, value, same = KINDS[kind]
    path = tmp_path / "sub" / "dir" / name  # parents are created
    write(path, value(1))
    assert same(read(path), value(1))
    write(path, value(2))
    assert same(read(path), value(2))
    prev = path.with_name(name + ".prev")
    assert same(read(prev), value(1)), "the previous good version must be kept as .prev"
    assert not _temporaries(path.parent), "a finished write leaves no temporary file"
    store.verify(path)
    store.verify(prev)


def test_json_envelope_and_reindenting_by_hand_is_harmless(tmp_path):
    path = tmp_path / "record.json"
    data = {"b": 1, "a": [1.5, None, True, "x"], "nested": {"z": -0.0}}
    store.write_json(path, data)
    envelope = json.loads(path.read_text())
    assert envelope["format"] == store.FORMAT and len(envelope["sha256"]) == 64 and envelope["data"] == data
    # The checksum covers the data, not its layout: a user may re-indent the file.
    path.write_text(json.dumps(envelope, indent=None, sort_keys=True))
    assert store.read_json(path) == data


def test_netcdf_is_loaded_into_memory_and_the_file_closed(tmp_path):
    path = tmp_path / "model.nc"
    store.write_netcdf(path, _dataset(3))
    ds = store.read_netcdf(path)
    for name in os.listdir("/proc/self/fd"):  # no descriptor of this process still points at the file
        try:
            assert os.readlink(f"/proc/self/fd/{name}") != str(path)
        except OSError:
            pass
    path.unlink()
    path.with_name("model.nc.sha256").unlink()
    assert ds["VS"].values.shape == (6, 4) and ds["RHO"].dtype == np.float32
    xr.testing.assert_identical(ds, _dataset(3))


# --- corruption is detected, with a clear message -----------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_truncated_file_is_detected_with_a_clear_message(tmp_path, kind):
    name, write, read, value, _ = KINDS[kind]
    path = tmp_path / name
    write(path, value(1))
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CorruptFileError) as info:
        read(path)
    message = str(info.value)
    assert str(path) in message, "the message names the file"
    assert info.value.problem == "truncated" and "truncated" in message, "the message says what is wrong"
    assert "delete" in message and "run again" in message, "the message says what to do (no .prev here)"
    assert isinstance(info.value, ValueError)


def test_corrupt_file_error_pickles_with_its_fields(tmp_path):
    # Jobs run in worker processes (dask): the error must come back intact.
    error = CorruptFileError(tmp_path / "a.npy", "truncated", "it has 1 bytes, but 2 were written")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.path, copy.problem, copy.detail, str(copy)) == (error.path, error.problem, error.detail, str(error))


def test_message_points_to_recover_when_a_previous_version_exists(tmp_path):
    path = tmp_path / "gradient.npy"
    store.write_npy(path, np.zeros(10))
    store.write_npy(path, np.ones(10))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(CorruptFileError, match=r"recover\(.*gradient\.npy'\).*fallback_to_previous=True"):
        store.read_npy(path)


@pytest.mark.parametrize("kind", ["npy", "netcdf", "mseed"])
def test_every_single_byte_flip_of_a_binary_file_is_detected(tmp_path, kind):
    name, write, read, value, _ = KINDS[kind]
    path = tmp_path / name
    write(path, value(1))
    raw = path.read_bytes()
    # Every position for small files; an even sample of 400 positions for the MiniSEED file.
    positions = range(len(raw)) if len(raw) <= 2000 else np.linspace(0, len(raw) - 1, 400).astype(int)
    with open(path, "r+b") as file:  # flip in place, one byte at a time, and put it back
        for position in positions:
            file.seek(position)
            file.write(bytes([raw[position] ^ 0x01]))
            file.flush()
            with pytest.raises(CorruptFileError) as info:
                read(path)
            assert info.value.problem == "checksum mismatch"
            file.seek(position)
            file.write(raw[position:position + 1])
            file.flush()
    assert path.read_bytes() == raw


def test_json_byte_flips_never_return_wrong_data(tmp_path):
    path = tmp_path / "config.json"
    data = {"name": "tf_phase_misfit_70_120_seconds", "min_period": 70.0, "max_period": 120.0,
            "events": ["event_CRETE_GREECE_Mag_6.15_2015-04-16-18-07"], "taper": True, "n": 12}
    store.write_json(path, data)
    raw = path.read_bytes()
    detected = 0
    for position in range(len(raw)):
        damaged = bytearray(raw)
        damaged[position] ^= 0x01
        path.write_bytes(damaged)
        try:
            assert store.read_json(path) == data, f"flip at byte {position} returned wrong data silently"
        except CorruptFileError:
            detected += 1
    # Flips that keep the same data (none expected in this layout) would be harmless; all others raise.
    assert detected == len(raw)


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda p: p.write_text('{"max_period": 120.0}\n'), "missing checksum"),
        (lambda p: p.write_text(p.read_text().replace('"data": {', '"data": {{', 1)), "not valid JSON"),
        (lambda p: p.write_text(p.read_text().replace("120.0", "100.0")), "checksum mismatch"),
        (lambda p: p.write_text(p.read_text().replace(store.FORMAT, "fwi-widgets/99")), "unknown format"),
    ],
    ids=["plain-json", "invalid-json", "edited-value", "future-format"],
)
def test_json_problems_are_named(tmp_path, damage, problem):
    path = tmp_path / "config.json"
    store.write_json(path, {"max_period": 120.0})
    damage(path)
    with pytest.raises(CorruptFileError) as info:
        store.read_json(path)
    assert info.value.problem == problem and problem in str(info.value) and str(path) in str(info.value)


def test_missing_or_stale_sidecar_means_unfinished(tmp_path):
    path = tmp_path / "model.npy"
    store.write_npy(path, np.arange(8.0))
    sidecar = path.with_name("model.npy.sha256")
    sidecar.unlink()
    with pytest.raises(CorruptFileError, match="missing checksum.*model.npy.sha256 does not exist"):
        store.read_npy(path)
    store.write_npy(path, np.arange(8.0))  # a good write restores the pair
    # New data of the same size under the real name with the old sidecar: a write that stopped
    # between the data and its checksum.
    path.write_bytes(path.read_bytes().replace(np.arange(8.0).tobytes(), (np.arange(8.0) + 1).tobytes()))
    with pytest.raises(CorruptFileError) as info:
        store.read_npy(path)
    assert info.value.problem == "checksum mismatch"


# --- previous versions and recovery -------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_recover_restores_the_previous_good_version(tmp_path, kind):
    name, write, read, value, same = KINDS[kind]
    path = tmp_path / name
    assert store.recover(path) is False, "nothing to restore: no file, no .prev"
    write(path, value(1))
    assert store.recover(path) is False, "an intact file is left alone"
    write(path, value(2))
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.warns(CorruptFileWarning, match="previous version"):
        assert same(read(path, fallback_to_previous=True), value(1))
    assert store.recover(path) is True
    assert same(read(path), value(1))
    store.verify(path)


def test_a_corrupt_file_never_replaces_the_previous_good_state(tmp_path):
    path = tmp_path / "gradient.npy"
    store.write_npy(path, np.full(4, 1.0))
    store.write_npy(path, np.full(4, 2.0))
    path.write_bytes(b"garbage")  # the current version is damaged
    store.write_npy(path, np.full(4, 3.0))  # must not keep the garbage as .prev
    np.testing.assert_array_equal(store.read_npy(path), np.full(4, 3.0))
    np.testing.assert_array_equal(store.read_npy(path.with_name("gradient.npy.prev")), np.full(4, 1.0))


def test_fallback_without_a_good_previous_version_raises_the_original_error(tmp_path):
    path = tmp_path / "only.json"
    store.write_json(path, [1, 2, 3])
    path.write_bytes(path.read_bytes()[:10])
    with pytest.raises(CorruptFileError, match="truncated"):
        store.read_json(path, fallback_to_previous=True)
    assert store.recover(path) is False


# --- crashes (SIGKILL in the middle of a write, in a child process) -----------------------

# The child loads store.py by its file path: it is standalone by design, and importing the
# fwi_widgets package would load the whole application (seconds per child).
CHILD_WRITE = """
    import importlib.util, sys
    import numpy as np
    from pathlib import Path
    spec = importlib.util.spec_from_file_location("store", {module!r})
    store = sys.modules["store"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(store)
    target = Path({target!r})
    kind = {kind!r}
    big = np.random.default_rng(7).normal(size=200_000)  # 1.6 MB, so "half written" is real
    if kind == "json":
        store.write_json(target, {{"values": big[:20_000].tolist()}})
    elif kind == "npy":
        store.write_npy(target, big)
    elif kind == "netcdf":
        import xarray as xr
        store.write_netcdf(target, xr.Dataset({{"VS": ("point", big)}}))
    print("write returned")
"""


@pytest.mark.parametrize(("kind", "name"), [("json", "record.json"), ("npy", "model.npy"), ("netcdf", "model.nc")])
def test_sigkill_during_a_write_keeps_the_old_content(tmp_path, kind, name):
    path = tmp_path / name
    old = {"json": {"values": [1.0, 2.0]}, "npy": np.arange(5.0),
           "netcdf": xr.Dataset({"VS": ("point", np.arange(5.0))})}[kind]
    writer, reader = {"json": (store.write_json, store.read_json), "npy": (store.write_npy, store.read_npy),
                      "netcdf": (store.write_netcdf, store.read_netcdf)}[kind]
    writer(path, old)
    before = sorted(p.name for p in tmp_path.iterdir())

    child = _run_child(CHILD_WRITE.format(module=store.__file__, target=str(path), kind=kind), env_fault=f"kill-during-write:{name}")
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert "write returned" not in child.stdout

    # The half-written temporary file is there, beside the untouched old file.
    (temporary,) = _temporaries(tmp_path)
    assert temporary.name.startswith(f".{name}.")
    assert temporary.stat().st_size > 0
    after = store.read_json(path) if kind == "json" else reader(path)
    if kind == "npy":
        np.testing.assert_array_equal(after, old)
    elif kind == "netcdf":
        xr.testing.assert_identical(after, old)
    else:
        assert after == old
    store.verify(path)
    assert store.recover(path) is False, "nothing to recover: the old file is intact"

    assert store.clean_temporaries(tmp_path) == [temporary]
    # What is left: the old file, and (kept before the write began) its copy as .prev.
    kept = [f"{name}.prev"] + ([] if kind == "json" else [f"{name}.prev.sha256"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before + kept)


def test_sigkill_between_data_and_checksum_is_detected_and_recovered(tmp_path):
    path = tmp_path / "model.npy"
    store.write_npy(path, np.arange(5.0))
    # Kill while writing the sidecar: the new data is in place, its checksum is not.
    child = _run_child(CHILD_WRITE.format(module=store.__file__, target=str(path), kind="npy"), env_fault="kill-during-write:model.npy.sha256")
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert path.stat().st_size > 1_000_000, "the new data file was renamed into place before the kill"
    with pytest.raises(CorruptFileError) as info:
        store.read_npy(path)
    assert info.value.problem == "checksum mismatch"
    with pytest.warns(CorruptFileWarning):
        np.testing.assert_array_equal(store.read_npy(path, fallback_to_previous=True), np.arange(5.0))
    assert store.recover(path) is True
    np.testing.assert_array_equal(store.read_npy(path), np.arange(5.0))
    assert len(store.clean_temporaries(tmp_path)) == 1


@pytest.mark.parametrize("fault", ["model.npy", "model.npy.sha256"])
def test_sigkill_after_a_write_leaves_that_write_in_place(tmp_path, fault):
    """``kill-after-write``: the matching write is complete, nothing after it happened."""
    path = tmp_path / "model.npy"
    store.write_npy(path, np.arange(5.0))
    child = _run_child(CHILD_WRITE.format(module=store.__file__, target=str(path), kind="npy"),
                       env_fault=f"kill-after-write:{fault}")
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert "write returned" not in child.stdout and not _temporaries(tmp_path)
    new = np.random.default_rng(7).normal(size=200_000)
    if fault == "model.npy":  # killed between the data file and its sidecar: an unfinished write
        assert path.stat().st_size > 1_000_000
        with pytest.raises(CorruptFileError, match="checksum mismatch"):
            store.read_npy(path)
    else:  # killed once the sidecar was in place too: the write is whole
        np.testing.assert_array_equal(store.read_npy(path), new)


def test_fault_hook_only_fires_for_matching_paths_and_rejects_unknown_faults(tmp_path, monkeypatch):
    monkeypatch.setenv(store.FAULT_ENVIRONMENT_VARIABLE, "kill-during-write:something-else")
    store.write_npy(tmp_path / "a.npy", np.zeros(3))  # does not match: no fault, we are still alive
    np.testing.assert_array_equal(store.read_npy(tmp_path / "a.npy"), np.zeros(3))
    monkeypatch.setenv(store.FAULT_ENVIRONMENT_VARIABLE, "fail-job-once:a.npy")  # a job fault: writes go on
    store.write_npy(tmp_path / "a.npy", np.ones(3))
    np.testing.assert_array_equal(store.read_npy(tmp_path / "a.npy"), np.ones(3))
    assert store.injected_fault("fail-job-once") == "a.npy" and store.injected_fault("kill-during-write") is None
    monkeypatch.setenv(store.FAULT_ENVIRONMENT_VARIABLE, "explode:a.npy")
    with pytest.raises(ValueError, match=r"FWI_WIDGETS_FAULT.*\['fail-job-once', 'kill-after-write', "
                                         r"'kill-during-write'\].*'explode:a.npy'"):
        store.write_npy(tmp_path / "b.npy", np.zeros(3))
    assert not (tmp_path / "b.npy").exists() and not _temporaries(tmp_path), "nothing written"


# --- temporary files ----------------------------------------------------------------------

def test_stale_temporaries_are_ignored_by_readers_and_cleaned(tmp_path):
    path = tmp_path / "deep" / "config.json"
    store.write_json(path, {"a": 1})
    stale = [path.with_name(".config.json.0123456789abcdef.tmp"), tmp_path / ".model.nc.fedcba9876543210.tmp"]
    for temporary in stale:
        temporary.write_bytes(b"half a fi")
    keep = [tmp_path / ".hidden.tmp", tmp_path / "notes.tmp.txt", tmp_path / ".model.nc.XYZ.tmp"]
    for other in keep:
        other.write_text("user file")
    assert store.read_json(path) == {"a": 1}
    assert store.clean_temporaries(tmp_path) == sorted(stale)
    assert all(not p.exists() for p in stale) and all(p.exists() for p in keep)
    assert store.clean_temporaries(tmp_path) == []


# --- threads and bad input ----------------------------------------------------------------

def test_concurrent_threads_never_see_a_half_pair(tmp_path):
    path = tmp_path / "shared.npy"
    store.write_npy(path, np.zeros(1000))
    errors = []

    def writer(value):
        try:
            for _ in range(30):
                store.write_npy(path, np.full(1000, float(value)))
        except Exception as error:  # collected and asserted below
            errors.append(error)

    def reader():
        try:
            for _ in range(60):
                array = store.read_npy(path)
                assert np.all(array == array[0]), "a read mixed two writes"
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(3)] + [threading.Thread(target=reader)
                                                                               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    store.verify(path)
    store.verify(path.with_name("shared.npy.prev"))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda d: store.write_bytes(d / "x.sha256", b"1"), ValueError, r"'path' parameter must not end in '.sha256'"),
        (lambda d: store.write_bytes(d / "x.prev", b"1"), ValueError, r"must not end in '.prev'"),
        (lambda d: store.write_bytes(d / "x.json", b"1"), ValueError, r"written with write_json"),
        (lambda d: store.write_json(d / "x.txt", {}), ValueError, r"write_json must end in '.json'"),
        (lambda d: store.write_json(d / "x.json", {"a": object()}), TypeError, r"must be JSON-serialisable"),
        (lambda d: store.write_npy(d / "x.npy", [1, 2]), TypeError, r"must be a numpy.ndarray, but a list"),
        (lambda d: store.write_netcdf(d / "x.nc", xr.DataArray([1.0])), TypeError, r"xarray.Dataset, but a DataArray"),
        (lambda d: store.write_stream(d / "x.mseed", obspy.Trace()), TypeError, r"obspy.Stream, but a Trace"),
        (lambda d: store.write_bytes(d / "x.bin", "text"), TypeError, r"bytes-like, but a str"),
        (lambda d: store.read_bytes(d / "x.json"), ValueError, r"read it with read_json"),
        (lambda d: store.clean_temporaries(d / "missing"), ValueError, r"existing directory"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(tmp_path, call, error, match):
    with pytest.raises(error, match=match):
        call(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        store.read_npy(tmp_path / "nothing.npy")
    with pytest.raises(FileNotFoundError):
        store.read_json(tmp_path / "nothing.json", fallback_to_previous=True)
