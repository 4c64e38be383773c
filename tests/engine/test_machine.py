from memorybench.engine import machine
from memorybench.engine.machine import machine_kind, onednn_isa

AVX512 = {"sse4_1", "avx", "avx2", "avx512f", "avx512bw", "avx512vl", "avx512dq"}


def test_the_onednn_level_is_the_highest_the_flags_allow():
    assert onednn_isa({"sse4_1", "avx", "avx2"}) == "avx2"
    assert onednn_isa(AVX512) == "avx512_core"
    assert onednn_isa(AVX512 | {"avx512_vnni", "avx512_bf16"}) == "avx512_core_bf16"  # a Zen 4 EPYC's
    assert (
        onednn_isa(AVX512 | {"avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8"})
        == "avx512_core_amx"
    )


def test_two_cpus_that_torch_calls_avx512_are_two_kinds_when_onednn_is_not_alike(monkeypatch):
    monkeypatch.setattr(machine, "cpu_flags", lambda: AVX512)
    plain = machine_kind()
    monkeypatch.setattr(machine, "cpu_flags", lambda: AVX512 | {"amx_tile", "amx_bf16", "amx_int8"})
    amx = machine_kind()
    assert plain != amx and "| oneDNN avx512_core |" in plain and "| oneDNN avx512_core_amx |" in amx
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")  # oneDNN's own cap is part of the kind
    assert "| oneDNN avx512_core_amx capped at avx2 |" in machine_kind()
