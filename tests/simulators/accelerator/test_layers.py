"""Layers, the workload table format and the shipped networks' MAC totals."""

import math

import pytest

from archgym.simulators.accelerator.layers import (
    BUILTIN_WORKLOADS, COLUMNS, Layer, WorkloadError, list_workloads, load_workload, parse_workload,
)

HEADER = ",".join(COLUMNS)

#: published MAC counts (batch 1): ResNet-18 1.82 G and ResNet-50 4.1 G (torchvision's 1.81 and
#: 4.09 GFLOPS, counted as MACs), VGG-16 15.5 G and AlexNet 724 M (Sze et al., Proc. IEEE 2017),
#: MobileNetV2 300 M (Sandler et al. 2018), BERT-base 11.2 G at sequence length 128.
PUBLISHED_MACS = {
    "resnet18": 1.82e9,
    "resnet50": 4.1e9,
    "vgg16": 15.5e9,
    "alexnet": 0.724e9,
    "mobilenetv2": 0.300e9,
    "bert-base": 11.2e9,
}
#: exact totals of the shipped tables, computed from the published architectures
EXACT_MACS = {
    "resnet18": 1_814_073_344,
    "resnet50": 4_089_184_256,
    "vgg16": 15_470_264_320,
    "alexnet": 724_406_816,
    "mobilenetv2": 300_774_272,
    "bert-base": 11_173_625_856,
}


@pytest.mark.parametrize("name", list(PUBLISHED_MACS))
def test_total_macs_match_published_figures(name):
    total = load_workload(name).total_macs
    assert total == pytest.approx(PUBLISHED_MACS[name], rel=0.03)
    assert total == EXACT_MACS[name]


def test_every_shipped_network_is_listed_and_loads():
    assert list_workloads() == list(BUILTIN_WORKLOADS)
    assert sorted(list_workloads()) == sorted(PUBLISHED_MACS)
    for name in list_workloads():
        workload = load_workload(name.upper())
        assert workload.name == name and workload.source == "builtin" and workload.key == name
        assert len(workload) > 0


def test_resnet18_layers_by_hand():
    layers = {layer.name: layer for layer in load_workload("resnet18").layers}
    conv1 = layers["conv1"]
    assert (conv1.K, conv1.C, conv1.OY, conv1.OX, conv1.FY, conv1.FX, conv1.stride) == (64, 3, 112, 112, 7, 7, 2)
    assert conv1.macs == 112 * 112 * 64 * 3 * 49 == 118_013_952
    assert layers["layer1.0.conv1"].repeat == 4  # four 3x3 64->64 convs at 56x56
    fc = layers["fc"]
    assert (fc.type, fc.C, fc.K, fc.OX, fc.OY) == ("gemm", 512, 1000, 1, 1)


def test_bert_base_is_twelve_encoder_layers_of_gemms():
    layers = {layer.name: layer for layer in load_workload("bert-base").layers}
    assert all(layer.type == "gemm" for layer in layers.values())
    assert layers["qkv_projection"].gemm_shape == (128, 768, 768) and layers["qkv_projection"].repeat == 36
    assert layers["attention_scores"].gemm_shape == (128, 128, 64) and layers["attention_scores"].repeat == 144
    assert layers["attention_context"].gemm_shape == (128, 64, 128)
    per_layer = 4 * 128 * 768 * 768 + 2 * 12 * 128 * 128 * 64 + 2 * 128 * 768 * 3072
    assert load_workload("bert-base").total_macs == 12 * per_layer


def test_depthwise_conv_uses_per_group_channels():
    dw = Layer.conv("dw", 56, 56, 3, 3, 144, 144, stride=2, groups=144)
    assert (dw.G, dw.K, dw.C, dw.OY, dw.OX) == (144, 1, 1, 28, 28)
    assert dw.macs == 144 * 28 * 28 * 9


def test_gemm_maps_to_canonical_bounds():
    layer = Layer.gemm("g", M=5, N=7, K=3)
    assert (layer.C, layer.K, layer.OX, layer.OY, layer.FY, layer.FX, layer.G) == (3, 7, 5, 1, 1, 1, 1)
    assert layer.macs == 5 * 7 * 3 and layer.gemm_shape == (5, 7, 3)


def test_same_padding_output_and_input_extent():
    layer = Layer.conv("c", 7, 9, 3, 3, 4, 8, stride=2)
    assert (layer.OY, layer.OX) == (math.ceil(7 / 2), math.ceil(9 / 2)) == (4, 5)
    assert (layer.IY, layer.IX) == (3 * 2 + 3, 4 * 2 + 3)
    assert layer.input_elements == 4 * 9 * 11 and layer.output_elements == 8 * 20
    assert layer.weight_elements == 8 * 4 * 9


def test_table_parsing_comments_order_and_default_repeat():
    text = "\n".join([
        "# a comment",
        "",
        "type,name,M,N,K,in_h,in_w,filter_h,filter_w,in_channels,out_channels,stride,groups,repeat",
        "gemm,fc,2,3,4,,,,,,,,,",
        "conv,c1,8,8,,8,8,3,3,16,32,1,2,",
    ])
    with pytest.raises(WorkloadError, match="leaves M, N empty"):  # a conv row must not fill M/N/K
        parse_workload(text, "t.csv")
    text = text.replace("conv,c1,8,8,,8,8", "conv,c1,,,,8,8")
    layers = parse_workload(text, "t.csv")
    assert layers[0] == Layer.gemm("fc", 2, 3, 4)
    assert layers[1] == Layer.conv("c1", 8, 8, 3, 3, 16, 32, 1, 2)
    assert layers[1].repeat == 1 and layers[1].K == 16


@pytest.mark.parametrize(
    "row, message",
    [
        ("c,conv,8,8,3,3,16,32,1,1,,,,x", "repeat = 'x' is not an integer"),
        ("c,conv,8,8,3,3,16,32,0,1,,,,1", "stride must be >= 1"),
        ("c,conv,8,8,3,,16,32,1,1,,,,1", "needs filter_w"),
        ("c,conv,8,8,3,3,16,32,1,3,,,,1", "divisible by groups"),
        ("g,gemm,8,,,,,,,,1,2,3,1", "leaves in_h empty"),
        ("g,gemm,,,,,,,,,1,,3,1", "needs N"),
        ("p,pool,8,8,3,3,16,16,2,1,,,,1", "type must be 'conv' or 'gemm'"),
        ("c,conv,8,8,3,3,16,32,1,1", "expected 14 fields, got 10"),
        (",conv,8,8,3,3,16,32,1,1,,,,1", "empty layer name"),
    ],
)
def test_malformed_rows_name_file_and_line(tmp_path, row, message):
    path = tmp_path / "net.csv"
    path.write_text(f"# my net\n{HEADER}\nok,gemm,,,,,,,,,1,2,3,1\n{row}\n")
    with pytest.raises(WorkloadError) as info:
        load_workload(str(path))
    assert f"{path}, line 4" in str(info.value) and message in str(info.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty workload table"),
        ("# only comments\n", "empty workload table"),
        (HEADER + "\n", "no layers"),
        (HEADER.replace("repeat", "count") + "\n", "unknown column(s) count; missing column(s) repeat"),
    ],
)
def test_malformed_tables(text, message):
    with pytest.raises(WorkloadError, match="mine.csv"):
        parse_workload(text, "mine.csv")
    with pytest.raises(WorkloadError) as info:
        parse_workload(text, "mine.csv")
    assert message in str(info.value)


def test_user_table_by_path_keys_on_content(tmp_path):
    path = tmp_path / "tiny.csv"
    path.write_text(f"{HEADER}\nfc,gemm,,,,,,,,,1,10,20,1\n")
    first = load_workload(path)
    assert first.name == "tiny" and first.total_macs == 200 and first.key.startswith("tiny:")
    path.write_text(f"{HEADER}\nfc,gemm,,,,,,,,,1,10,20,3\n")
    second = load_workload(str(path))
    assert second.total_macs == 600 and second.key != first.key


def test_unknown_workload_lists_the_shipped_ones():
    with pytest.raises(WorkloadError, match="resnet18") as info:
        load_workload("resnet-1000")
    assert isinstance(info.value, ValueError)


def test_layer_rejects_nonpositive_bounds():
    with pytest.raises(ValueError, match="K must be a positive integer"):
        Layer("x", "conv", K=0, C=1, OY=1, OX=1)
