"""The multiprocess metrics directory: fresh for each run, the environment restored after."""

import os

from servicekit.metrics_dir import MULTIPROC_ENV, multiprocess_metrics_dir, multiprocess_registry


def test_without_a_configured_directory_a_temporary_one_is_made_and_removed(monkeypatch):
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    with multiprocess_metrics_dir(True, prefix="svc-metrics-") as path:
        assert path.is_dir()
        assert path.name.startswith("svc-metrics-")
        assert os.environ[MULTIPROC_ENV] == str(path)
        (path / "counter_1.db").write_bytes(b"x")
    assert not path.exists()
    assert MULTIPROC_ENV not in os.environ


def test_a_configured_directory_is_created_emptied_of_samples_and_kept(monkeypatch, tmp_path):
    configured = tmp_path / "metrics"
    configured.mkdir()
    (configured / "counter_1.db").write_bytes(b"old samples")
    (configured / "README").write_text("not ours")
    monkeypatch.setenv(MULTIPROC_ENV, str(configured))
    with multiprocess_metrics_dir(True, prefix="svc-") as path:
        assert path == configured
        assert sorted(item.name for item in path.iterdir()) == ["README"]
    assert configured.is_dir()
    assert os.environ[MULTIPROC_ENV] == str(configured)


def test_a_missing_configured_directory_is_created(monkeypatch, tmp_path):
    configured = tmp_path / "not" / "yet"
    monkeypatch.setenv(MULTIPROC_ENV, str(configured))
    with multiprocess_metrics_dir(True, prefix="svc-") as path:
        assert path.is_dir()


def test_without_metrics_the_variable_is_unset_inside_and_restored_after(monkeypatch, tmp_path):
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    with multiprocess_metrics_dir(False, prefix="svc-") as path:
        assert path is None
        assert MULTIPROC_ENV not in os.environ
    assert os.environ[MULTIPROC_ENV] == str(tmp_path)


def test_the_registry_reads_every_workers_files_only_when_they_are_shared(monkeypatch, tmp_path):
    from prometheus_client import REGISTRY

    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    assert multiprocess_registry() is REGISTRY
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    assert multiprocess_registry() is not REGISTRY
