"""Transformer model configs (``workloads/llm/*.yaml``) in the style of a Hugging Face config.

One frozen :class:`LLMConfig` per model. It is read from YAML with the validating
:class:`~accelsim.spec.common.Reader` (every problem of a file at once, with file, key path and
fix) or imported from a local Hugging Face ``config.json`` with :func:`from_hf_config`, which
maps the HF keys onto the same YAML keys and validates them the same way.

Field names follow Hugging Face where it has one name for all families (``hidden_size``,
``intermediate_size``, ``vocab_size``); sizes are element counts, never bytes.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from ..spec.common import Reader, load_yaml

ACTIVATIONS = ("gelu", "swiglu", "geglu")
#: Gated MLPs (gate, up and down projections): SwiGLU and GeGLU (Shazeer 2020, Eq. 5-6).
GATED_ACTIVATIONS = ("swiglu", "geglu")
NORMS = ("layernorm", "rmsnorm")
POSITION_EMBEDDINGS = ("rope", "learned", "alibi", "none")
MIXERS = ("attention", "mamba", "mamba2")
#: Stored weight formats (quantization): weight bits / activation (compute) bits; ``fp8`` is
#: fp8 weights and activations. ``weight_block`` is the quantization group (or block edge).
WEIGHT_FORMATS = ("w8a16", "w4a16", "w8a8", "fp8")


@dataclass(frozen=True)
class LLMConfig:
    """A transformer's shape: enough to count its parameters, KV cache and MACs exactly.

    Attention is MLA (DeepSeek-V2, arXiv:2405.04434 Sec. 2.1) when ``kv_lora_rank`` is set, else
    MHA/GQA/MQA with ``num_kv_heads`` key/value heads. The MLP is MoE when ``num_experts`` > 0,
    except in the first ``first_dense_layers`` layers (DeepSeek's ``first_k_dense_replace``).
    A vision transformer (ViT) sets ``patch_size``: its tokens come from a patch embedding
    instead of a vocabulary.

    Family features (each changes counts or ops; docs/llm.md, "Hugging Face import"):
    ``norms_per_layer`` (1: Falcon-7B/GPT-J parallel blocks; 4: Gemma-2/3 sandwich norms),
    ``norm_weights`` (False: OLMo's non-parametric LayerNorm), ``qk_norm`` (RMSNorm over each
    head's q and k: Qwen3, Gemma-3), ``attention_out_bias`` (default ``attention_bias``; Qwen2 has
    q/k/v biases only), ``lm_head_bias`` (GPT-J), ``rotary_dim`` (partial rotary: GPT-J, GPT-NeoX),
    ``parallel_attention`` (attention and MLP read the same input: GPT-J, GPT-NeoX, Falcon; one
    tensor-parallel all-reduce per layer instead of two), ``sliding_window_layers`` (how many
    layers use ``sliding_window``; the rest attend globally: Gemma-2/3), ``attention_softcap`` and
    ``final_softcap`` (tanh soft-capping of scores and logits, Gemma-2), ``embedding_scale``
    (embeddings times sqrt(d), Gemma), ``shared_expert_intermediate_size`` and
    ``shared_expert_gate`` (Qwen2-MoE), ``router_bias`` (DeepSeek-V3's score-correction bias),
    ``moe_layers`` (how many layers are MoE when not all after ``first_dense_layers``),
    ``mixer`` (``mamba``/``mamba2``: a state-space layer replaces attention and MLP; the ``ssm_*``
    fields, Gu and Dao 2023; Dao and Gu 2024), ``weight_format``/``weight_block`` (weights stored
    in fp8 with one fp32 scale per ``weight_block x weight_block`` block, DeepSeek-V3 Sec. 3.3).
    """

    name: str
    num_layers: int
    hidden_size: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    activation: str
    vocab_size: int = 0
    tied_embeddings: bool = False
    lm_head: bool = True
    position_embedding: str = "rope"
    max_position: int | None = None
    type_vocab_size: int = 0
    norm: str = "rmsnorm"
    norm_bias: bool = False
    embedding_norm: bool = False
    final_norm: bool = True
    attention_bias: bool = False
    mlp_bias: bool = False
    pooler: bool = False
    num_labels: int = 0
    image_size: int | None = None
    patch_size: int | None = None
    num_channels: int = 3
    sliding_window: int | None = None
    num_experts: int = 0
    experts_per_token: int = 0
    num_shared_experts: int = 0
    moe_intermediate_size: int | None = None
    first_dense_layers: int = 0
    q_lora_rank: int | None = None
    kv_lora_rank: int | None = None
    qk_rope_head_dim: int | None = None
    qk_nope_head_dim: int | None = None
    v_head_dim: int | None = None
    norms_per_layer: int = 2
    norm_weights: bool = True
    qk_norm: bool = False
    attention_out_bias: bool | None = None
    lm_head_bias: bool = False
    rotary_dim: int | None = None
    parallel_attention: bool = False
    sliding_window_layers: int | None = None
    attention_softcap: float | None = None
    final_softcap: float | None = None
    embedding_scale: bool = False
    shared_expert_intermediate_size: int | None = None
    shared_expert_gate: bool = False
    router_bias: bool = False
    moe_layers: int | None = None
    mixer: str = "attention"
    ssm_state_size: int = 16
    ssm_inner_size: int | None = None
    ssm_conv_kernel: int = 4
    ssm_dt_rank: int | None = None
    ssm_heads: int = 0
    ssm_groups: int = 1
    ssm_bias: bool = False
    ssm_conv_bias: bool = True
    weight_format: str | None = None
    weight_block: int | None = None
    description: str = ""
    source: str = ""
    file: str = ""

    @property
    def is_moe(self) -> bool:
        return self.num_experts > 0

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank is not None

    @property
    def num_moe_layers(self) -> int:
        if not self.is_moe:
            return 0
        return self.moe_layers if self.moe_layers is not None else self.num_layers - self.first_dense_layers

    @property
    def is_ssm(self) -> bool:
        return self.mixer != "attention"

    @property
    def gated(self) -> bool:
        return self.activation in GATED_ACTIVATIONS

    @property
    def out_bias(self) -> bool:
        return self.attention_bias if self.attention_out_bias is None else self.attention_out_bias

    @property
    def shared_intermediate_size(self) -> int:
        """Inner width of all shared experts of one layer together."""
        if self.shared_expert_intermediate_size is not None:
            return self.num_shared_experts * self.shared_expert_intermediate_size
        return self.num_shared_experts * self.expert_intermediate_size

    @property
    def window_layers(self) -> int:
        """Layers that attend within ``sliding_window`` (0 without a window)."""
        if not self.sliding_window:
            return 0
        return self.num_layers if self.sliding_window_layers is None else self.sliding_window_layers

    @property
    def ssm_d_inner(self) -> int:
        return self.ssm_inner_size if self.ssm_inner_size is not None else 2 * self.hidden_size

    @property
    def expert_intermediate_size(self) -> int:
        return self.moe_intermediate_size if self.moe_intermediate_size is not None else self.intermediate_size

    @property
    def qk_head_dim(self) -> int:
        """Per-head width of queries and keys (MLA: nope + rope parts)."""
        return self.qk_nope_head_dim + self.qk_rope_head_dim if self.is_mla else self.head_dim

    @property
    def value_head_dim(self) -> int:
        return self.v_head_dim if self.is_mla else self.head_dim

    @property
    def num_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2 if self.patch_size else 0


_KEYS = tuple(f.name for f in fields(LLMConfig) if f.name != "file")
_MLA_KEYS = ("qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim")


def llm_config_from_dict(data, file: str = "<llm config>") -> LLMConfig:
    """Validate a parsed model-config mapping and build an :class:`LLMConfig`; all problems at once."""
    r = Reader(data, file)
    v: dict = {}
    v["name"] = r.string("name")
    v["description"] = r.string("description", "")
    v["source"] = r.string("source", "")
    v["mixer"] = r.choice("mixer", MIXERS, "attention")
    ssm = v["mixer"] != "attention"
    for key in ("num_layers", "hidden_size"):
        v[key] = r.integer(key)
    # a state-space model has no attention heads nor MLP: those keys are optional there
    v["num_heads"] = r.integer("num_heads", 1) if ssm else r.integer("num_heads")
    v["intermediate_size"] = r.integer("intermediate_size", 1) if ssm else r.integer("intermediate_size")
    v["num_kv_heads"] = r.integer("num_kv_heads", v["num_heads"])
    v["head_dim"] = r.integer("head_dim", None)
    v["activation"] = r.choice("activation", ACTIVATIONS, "swiglu") if ssm else r.choice("activation", ACTIVATIONS)
    v["patch_size"] = r.integer("patch_size", None)
    v["image_size"] = r.integer("image_size", None)
    v["num_channels"] = r.integer("num_channels", 3)
    v["vocab_size"] = r.integer("vocab_size", 0, minimum=0) if "patch_size" in r.data else r.integer("vocab_size")
    v["tied_embeddings"] = r.boolean("tied_embeddings", False)
    v["lm_head"] = r.boolean("lm_head", "patch_size" not in r.data)
    v["position_embedding"] = r.choice("position_embedding", POSITION_EMBEDDINGS, "none" if ssm else "rope")
    v["max_position"] = r.integer("max_position", None)
    v["type_vocab_size"] = r.integer("type_vocab_size", 0, minimum=0)
    v["norm"] = r.choice("norm", NORMS, "rmsnorm")
    v["norm_bias"] = r.boolean("norm_bias", v["norm"] == "layernorm")
    for key, default in (("embedding_norm", False), ("final_norm", True), ("attention_bias", False),
                         ("mlp_bias", False), ("pooler", False), ("norm_weights", True), ("qk_norm", False),
                         ("lm_head_bias", False), ("parallel_attention", False), ("embedding_scale", False),
                         ("shared_expert_gate", False), ("router_bias", False), ("ssm_bias", False),
                         ("ssm_conv_bias", True)):
        v[key] = r.boolean(key, default)
    v["attention_out_bias"] = r.boolean("attention_out_bias", None)
    v["num_labels"] = r.integer("num_labels", 0, minimum=0)
    v["sliding_window"] = r.integer("sliding_window", None)
    v["sliding_window_layers"] = r.integer("sliding_window_layers", None, minimum=0)
    v["num_experts"] = r.integer("num_experts", 0, minimum=0)
    v["experts_per_token"] = r.integer("experts_per_token", 0, minimum=0)
    v["num_shared_experts"] = r.integer("num_shared_experts", 0, minimum=0)
    v["moe_intermediate_size"] = r.integer("moe_intermediate_size", None)
    v["shared_expert_intermediate_size"] = r.integer("shared_expert_intermediate_size", None)
    v["first_dense_layers"] = r.integer("first_dense_layers", 0, minimum=0)
    v["moe_layers"] = r.integer("moe_layers", None, minimum=0)
    for key in ("q_lora_rank", "kv_lora_rank") + _MLA_KEYS:
        v[key] = r.integer(key, None)
    v["norms_per_layer"] = r.integer("norms_per_layer", 2, minimum=0)
    v["rotary_dim"] = r.integer("rotary_dim", None)
    for key in ("attention_softcap", "final_softcap"):
        v[key] = r.number(key, None)
    v["ssm_state_size"] = r.integer("ssm_state_size", 16)
    v["ssm_inner_size"] = r.integer("ssm_inner_size", None)
    v["ssm_conv_kernel"] = r.integer("ssm_conv_kernel", 4)
    v["ssm_dt_rank"] = r.integer("ssm_dt_rank", None)
    v["ssm_heads"] = r.integer("ssm_heads", 0, minimum=0)
    v["ssm_groups"] = r.integer("ssm_groups", 1)
    v["weight_format"] = r.choice("weight_format", WEIGHT_FORMATS, None)
    v["weight_block"] = r.integer("weight_block", None)
    r.reject_unknown(_KEYS)
    _check_consistency(r, v)
    r.raise_if_problems()
    if v["head_dim"] is None:
        v["head_dim"] = v["hidden_size"] // v["num_heads"]
    return LLMConfig(**v, file=str(file))


def _check_consistency(r: Reader, v: dict) -> None:
    """Cross-key rules; each names the key to change and how."""
    _check_family_keys(r, v)
    d, h, kv = v["hidden_size"], v["num_heads"], v["num_kv_heads"]
    if v["head_dim"] is None and d and h and d % h:
        r.error("head_dim", f"required when hidden_size={d} is not a multiple of num_heads={h}")
    if h and kv and h % kv:
        r.error("num_kv_heads", f"must divide num_heads={h} (got {kv}); MQA uses 1, MHA uses num_heads")
    if v["position_embedding"] == "learned" and v["max_position"] is None and not v["patch_size"]:
        r.error("max_position", "required with position_embedding: learned (the rows of the position table)")
    if v["tied_embeddings"] and v["lm_head"] is False:
        r.error("tied_embeddings", "needs lm_head: true (it ties the lm_head to the token embedding)")
    if (v["patch_size"] is None) != (v["image_size"] is None):
        r.error("patch_size" if v["patch_size"] is None else "image_size",
                "patch_size and image_size go together (a ViT needs both)")
    elif v["patch_size"] and v["image_size"] and v["image_size"] % v["patch_size"]:
        r.error("image_size", f"must be a multiple of patch_size={v['patch_size']} (got {v['image_size']})")
    e, k = v["num_experts"], v["experts_per_token"]
    if e:
        if not k:
            r.error("experts_per_token", "required (>= 1) when num_experts > 0")
        elif k > e:
            r.error("experts_per_token", f"must be <= num_experts={e} (got {k})")
    else:
        for key in ("experts_per_token", "num_shared_experts", "first_dense_layers"):
            if v[key]:
                r.error(key, "only meaningful with num_experts > 0; set num_experts or remove the key")
    if v["num_layers"] and v["first_dense_layers"] and v["first_dense_layers"] > v["num_layers"]:
        r.error("first_dense_layers", f"must be <= num_layers={v['num_layers']} (got {v['first_dense_layers']})")
    if v["kv_lora_rank"] is not None:
        for key in _MLA_KEYS:
            if v[key] is None and key in r.data:
                continue  # already reported (no value / bad value)
            if v[key] is None:
                r.error(key, "required with kv_lora_rank (MLA attention)")
    else:
        for key in _MLA_KEYS + ("q_lora_rank",):
            if v[key] is not None:
                r.error(key, "only meaningful with kv_lora_rank (MLA attention); set it or remove the key")


def _check_family_keys(r: Reader, v: dict) -> None:
    """Rules for the family features (windows per layer, MoE layers, partial rotary, SSMs, fp8)."""
    n, w, top = v["num_layers"], v["sliding_window"], v["max_position"]
    if w and top and w > top:
        r.error("sliding_window", f"must be <= max_position={top} (got {w}): a window above the context "
                                  f"limit never applies; remove it or lower it")
    if v["sliding_window_layers"] is not None:
        if not w:
            r.error("sliding_window_layers", "only meaningful with sliding_window; set it or remove the key")
        elif n and v["sliding_window_layers"] > n:
            r.error("sliding_window_layers", f"must be <= num_layers={n} (got {v['sliding_window_layers']})")
    if v["moe_layers"] is not None and n and v["moe_layers"] > n - (v["first_dense_layers"] or 0):
        r.error("moe_layers", f"must be <= num_layers - first_dense_layers = {n - (v['first_dense_layers'] or 0)} "
                              f"(got {v['moe_layers']})")
    for key in ("shared_expert_intermediate_size", "shared_expert_gate", "router_bias", "moe_layers"):
        if v[key] and not v["num_experts"]:
            r.error(key, "only meaningful with num_experts > 0; set num_experts or remove the key")
    hd = v["head_dim"] or (v["hidden_size"] // v["num_heads"] if v["hidden_size"] and v["num_heads"] else None)
    rot = v["rotary_dim"]
    if rot is not None:
        if v["position_embedding"] != "rope":
            r.error("rotary_dim", "only meaningful with position_embedding: rope")
        elif hd and (rot > hd or rot % 2):
            r.error("rotary_dim", f"must be even and <= head_dim={hd} (got {rot})")
    if v["mixer"] == "attention":
        for key in ("ssm_inner_size", "ssm_dt_rank"):
            if v[key] is not None:
                r.error(key, "only meaningful with mixer: mamba or mamba2")
    elif v["mixer"] == "mamba2":
        inner = v["ssm_inner_size"] or 2 * (v["hidden_size"] or 0)
        heads, groups = v["ssm_heads"], v["ssm_groups"]
        if not heads:
            r.error("ssm_heads", "required (>= 1) with mixer: mamba2")
        elif inner % heads:
            r.error("ssm_heads", f"must divide ssm_inner_size={inner} (got {heads})")
        if heads and groups and heads % groups:
            r.error("ssm_groups", f"must divide ssm_heads={heads} (got {groups})")
    if v["weight_block"] is not None and v["weight_format"] is None:
        r.error("weight_block", "only meaningful with weight_format")
    if v["weight_format"] == "w4a16" and v["weight_block"] is None:
        r.error("weight_block", "required with weight_format: w4a16 (the group size, e.g. 128)")


def load_llm_config(path) -> LLMConfig:
    """Load and validate one ``workloads/llm/*.yaml`` file."""
    return llm_config_from_dict(load_yaml(Path(path)), str(path))
