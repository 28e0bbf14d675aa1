"""Transformer model configs (``workloads/llm/*.yaml``) in the style of a Hugging Face config.

One frozen :class:`LLMConfig` per model. It is read from YAML with the validating
:class:`~accelsim.spec.common.Reader` (every problem of a file at once, with file, key path and
fix) or imported from a local Hugging Face ``config.json`` with :func:`from_hf_config`, which
maps the HF keys onto the same YAML keys and validates them the same way.

Field names follow Hugging Face where it has one name for all families (``hidden_size``,
``intermediate_size``, ``vocab_size``); sizes are element counts, never bytes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

from ..errors import AccelsimError, Problem, SpecError, did_you_mean
from ..spec.common import Reader, load_yaml

ACTIVATIONS = ("gelu", "swiglu")
NORMS = ("layernorm", "rmsnorm")
POSITION_EMBEDDINGS = ("rope", "learned", "none")


@dataclass(frozen=True)
class LLMConfig:
    """A transformer's shape: enough to count its parameters, KV cache and MACs exactly.

    Attention is MLA (DeepSeek-V2, arXiv:2405.04434 Sec. 2.1) when ``kv_lora_rank`` is set, else
    MHA/GQA/MQA with ``num_kv_heads`` key/value heads. The MLP is MoE when ``num_experts`` > 0,
    except in the first ``first_dense_layers`` layers (DeepSeek's ``first_k_dense_replace``).
    A vision transformer (ViT) sets ``patch_size``: its tokens come from a patch embedding
    instead of a vocabulary.
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
        return self.num_layers - self.first_dense_layers if self.is_moe else 0

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
    for key in ("num_layers", "hidden_size", "num_heads", "intermediate_size"):
        v[key] = r.integer(key)
    v["num_kv_heads"] = r.integer("num_kv_heads", v["num_heads"])
    v["head_dim"] = r.integer("head_dim", None)
    v["activation"] = r.choice("activation", ACTIVATIONS)
    v["patch_size"] = r.integer("patch_size", None)
    v["image_size"] = r.integer("image_size", None)
    v["num_channels"] = r.integer("num_channels", 3)
    v["vocab_size"] = r.integer("vocab_size", 0, minimum=0) if "patch_size" in r.data else r.integer("vocab_size")
    v["tied_embeddings"] = r.boolean("tied_embeddings", False)
    v["lm_head"] = r.boolean("lm_head", "patch_size" not in r.data)
    v["position_embedding"] = r.choice("position_embedding", POSITION_EMBEDDINGS, "rope")
    v["max_position"] = r.integer("max_position", None)
    v["type_vocab_size"] = r.integer("type_vocab_size", 0, minimum=0)
    v["norm"] = r.choice("norm", NORMS, "rmsnorm")
    v["norm_bias"] = r.boolean("norm_bias", v["norm"] == "layernorm")
    for key, default in (("embedding_norm", False), ("final_norm", True), ("attention_bias", False),
                         ("mlp_bias", False), ("pooler", False)):
        v[key] = r.boolean(key, default)
    v["num_labels"] = r.integer("num_labels", 0, minimum=0)
    v["sliding_window"] = r.integer("sliding_window", None)
    v["num_experts"] = r.integer("num_experts", 0, minimum=0)
    v["experts_per_token"] = r.integer("experts_per_token", 0, minimum=0)
    v["num_shared_experts"] = r.integer("num_shared_experts", 0, minimum=0)
    v["moe_intermediate_size"] = r.integer("moe_intermediate_size", None)
    v["first_dense_layers"] = r.integer("first_dense_layers", 0, minimum=0)
    for key in ("q_lora_rank", "kv_lora_rank") + _MLA_KEYS:
        v[key] = r.integer(key, None)
    r.reject_unknown(_KEYS)
    _check_consistency(r, v)
    r.raise_if_problems()
    if v["head_dim"] is None:
        v["head_dim"] = v["hidden_size"] // v["num_heads"]
    return LLMConfig(**v, file=str(file))


def _check_consistency(r: Reader, v: dict) -> None:
    """Cross-key rules; each names the key to change and how."""
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


def load_llm_config(path) -> LLMConfig:
    """Load and validate one ``workloads/llm/*.yaml`` file."""
    return llm_config_from_dict(load_yaml(Path(path)), str(path))


# -- Hugging Face config.json ----------------------------------------------------------------------

#: Families whose MLP is gated (SwiGLU/GeGLU: gate, up and down projections).
_GATED = {"llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "deepseek_v2", "deepseek_v3", "gemma"}
#: (our key, HF key(s) in order of preference): the keys every family has.
_COMMON = (
    ("num_layers", ("num_hidden_layers", "n_layer")),
    ("hidden_size", ("hidden_size", "n_embd")),
    ("num_heads", ("num_attention_heads", "n_head")),
    ("vocab_size", ("vocab_size",)),
)
#: Optional HF keys copied as they are (our key, HF key(s)).
_OPTIONAL = (
    ("num_kv_heads", ("num_key_value_heads",)),
    ("head_dim", ("head_dim",)),
    ("sliding_window", ("sliding_window",)),
    ("num_experts", ("n_routed_experts", "num_local_experts", "num_experts")),
    ("experts_per_token", ("num_experts_per_tok",)),
    ("num_shared_experts", ("n_shared_experts",)),
    ("moe_intermediate_size", ("moe_intermediate_size",)),
    ("first_dense_layers", ("first_k_dense_replace",)),
    ("q_lora_rank", ("q_lora_rank",)),
    ("kv_lora_rank", ("kv_lora_rank",)),
    ("qk_rope_head_dim", ("qk_rope_head_dim",)),
    ("qk_nope_head_dim", ("qk_nope_head_dim",)),
    ("v_head_dim", ("v_head_dim",)),
    ("attention_bias", ("attention_bias",)),
    ("mlp_bias", ("mlp_bias",)),
)


def _first(cfg: dict, keys):
    for key in keys:
        if cfg.get(key) is not None:
            return cfg[key]
    return None


def from_hf_config(path, name: str | None = None) -> LLMConfig:
    """Import a local Hugging Face ``config.json`` (no download) as an :class:`LLMConfig`.

    Maps num_hidden_layers, hidden_size, num_attention_heads, num_key_value_heads, head_dim,
    intermediate_size, hidden_act, vocab_size, tie_word_embeddings, sliding_window,
    n_routed_experts / num_local_experts, num_experts_per_tok, n_shared_experts,
    moe_intermediate_size, first_k_dense_replace and the MLA ranks onto the YAML keys, with
    family defaults for GPT-2 (``model_type: gpt2``: learned positions, LayerNorm, biases, tied)
    and BERT (``bert``: token types, embedding LayerNorm, pooler, no lm_head); every other family
    is read as a Llama-style decoder (RMSNorm, RoPE, no biases). A key that the model needs and
    the file lacks is an :class:`AccelsimError` naming it; all missing keys are reported at once.
    """
    path = Path(path)
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AccelsimError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AccelsimError(f"{path}: not a readable JSON config ({exc})") from None
    if not isinstance(cfg, dict):
        raise AccelsimError(f"{path}: must be a JSON object of config keys")
    model_type = str(cfg.get("model_type", ""))
    problems: list[Problem] = []
    out: dict = {"name": name or cfg.get("_name_or_path") or model_type or path.parent.name or "hf_model",
                 "source": f"Hugging Face config.json ({path})"}

    def need(ours: str, keys) -> None:
        value = _first(cfg, keys)
        if value is None:
            hint = did_you_mean(keys[0], list(cfg))
            problems.append(Problem(str(path), keys[0],
                                    f"missing key (needed for {ours}){hint}; model_type {model_type!r}"))
        else:
            out[ours] = value

    for ours, keys in _COMMON:
        need(ours, keys)
    for ours, keys in _OPTIONAL:
        value = _first(cfg, keys)
        if value is not None:
            out[ours] = value
    if model_type == "gpt2":
        d = out.get("hidden_size")
        out["intermediate_size"] = cfg.get("n_inner") or (4 * d if d else None)
        need("max_position", ("n_positions", "max_position_embeddings"))
        out.update(activation="gelu", position_embedding="learned", norm="layernorm", attention_bias=True,
                   mlp_bias=True, tied_embeddings=bool(cfg.get("tie_word_embeddings", True)))
    elif model_type == "bert":
        need("intermediate_size", ("intermediate_size",))
        need("max_position", ("max_position_embeddings",))
        out.update(activation="gelu", position_embedding="learned", norm="layernorm", attention_bias=True,
                   mlp_bias=True, embedding_norm=True, final_norm=False, pooler=True, lm_head=False,
                   type_vocab_size=int(cfg.get("type_vocab_size", 2)))
    else:
        need("intermediate_size", ("intermediate_size",))
        need("activation", ("hidden_act",))
        act = str(out.get("activation", ""))
        gated = model_type in _GATED or act in ("silu", "swish")
        out["activation"] = "swiglu" if gated else "gelu" if act.startswith("gelu") else act
        out["tied_embeddings"] = bool(cfg.get("tie_word_embeddings", False))
        if cfg.get("moe_layer_freq", 1) != 1:
            problems.append(Problem(str(path), "moe_layer_freq",
                                    f"only 1 (every layer after first_k_dense_replace is MoE) is supported "
                                    f"(got {cfg['moe_layer_freq']!r})"))
    if problems:
        raise SpecError(problems)
    if cfg.get("use_sliding_window") is False:  # Qwen2 lists a window it does not use
        out.pop("sliding_window", None)
    if out.get("kv_lora_rank") is None:
        for key in _MLA_KEYS + ("q_lora_rank",):
            out.pop(key, None)
    if not out.get("num_experts"):
        for key in ("num_experts", "experts_per_token", "num_shared_experts", "first_dense_layers"):
            out.pop(key, None)
    return llm_config_from_dict(out, str(path))
