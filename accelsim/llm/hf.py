"""Strict import of a local Hugging Face ``config.json`` as an :class:`~accelsim.llm.config.LLMConfig`.

Every key of the file is accounted for: it changes the model (mapped onto an ``LLMConfig`` field),
it is listed in :data:`NO_COST` (or a family's own list) with the reason it has no cost effect, or
the file is refused with the key named. Booleans must be JSON ``true``/``false`` and integers JSON
integers: ``"false"`` (a string) or ``4096.0`` is an error, never silently truthy. All problems of
a file are reported together (file, key, fix).

Families and what each reads, from the Hugging Face ``transformers`` model code (``modeling_*.py``
of each family) and the papers cited in docs/llm.md: ``llama`` (Llama 2/3/3.1, rope scaling),
``mistral``, ``mixtral``, ``qwen2``, ``qwen2_moe``, ``qwen3``, ``qwen3_moe``, ``gemma``, ``gemma2``,
``gemma3_text``, ``phi3``, ``falcon``, ``gpt2``, ``gptj``, ``gpt_neox``, ``olmo``, ``deepseek_v2``,
``deepseek_v3``, ``mamba``, ``mamba2`` and ``bert``.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from ..errors import AccelsimError, Problem, SpecError, did_you_mean
from .config import LLMConfig, llm_config_from_dict

_ABSENT = object()

#: Keys no family's cost depends on, with the reason (printed by ``docs/llm.md``'s table).
NO_COST = {
    **dict.fromkeys(("_name_or_path", "auto_map", "transformers_version", "tokenizer_class",
                     "_commit_hash", "custom_pipelines", "name_or_path"), "metadata"),
    **dict.fromkeys(("bos_token_id", "eos_token_id", "pad_token_id", "sep_token_id", "decoder_start_token_id"),
                    "token ids"),
    **dict.fromkeys(("initializer_range", "initializer_factor", "attention_dropout", "hidden_dropout",
                     "attn_pdrop", "embd_pdrop", "resid_pdrop", "summary_first_dropout", "hidden_dropout_prob",
                     "attention_probs_dropout_prob", "classifier_dropout", "router_aux_loss_coef", "aux_loss_alpha",
                     "seq_aux", "output_router_logits", "router_z_loss_coef", "router_jitter_noise",
                     "gradient_checkpointing", "use_cache", "rescale_prenorm_residual", "residual_in_fp32",
                     "time_step_floor", "time_step_init_scheme", "time_step_max", "time_step_min",
                     "time_step_scale", "time_step_limit", "tie_word_embeddings_init"),
                    "training or initialisation only"),
    **dict.fromkeys(("rms_norm_eps", "layer_norm_eps", "layer_norm_epsilon", "rope_theta", "rope_local_base_freq",
                     "rotary_emb_base", "query_pre_attn_scalar", "scale_attn_weights", "scale_attn_by_inverse_layer_idx",
                     "reorder_and_upcast_attn", "original_max_position_embeddings", "routed_scaling_factor",
                     "norm_topk_prob", "torch_dtype"),
                    "a constant inside an op (same shapes and op counts); the hw file sets the precision"),
    **dict.fromkeys(("task_specific_params", "summary_activation", "summary_proj_to_labels", "summary_type",
                     "summary_use_proj", "n_ctx", "cache_implementation", "pretraining_tp", "ep_size",
                     "fused_add_norm", "use_mambapy", "chunk_size", "norm_before_gate", "max_window_layers"),
                    "execution detail with the same arithmetic (or a key read together with another)"),
    "num_nextn_predict_layers": "DeepSeek-V3's multi-token-prediction module: not part of "
                                "DeepseekV3ForCausalLM's forward pass (used only for speculative decoding)",
}

#: accelsim's config keys -> the Hugging Face keys they come from (for error messages).
_HF_NAMES = {"num_layers": "num_hidden_layers", "num_heads": "num_attention_heads",
             "num_kv_heads": "num_key_value_heads", "experts_per_token": "num_experts_per_tok",
             "max_position": "max_position_embeddings", "first_dense_layers": "first_k_dense_replace",
             "tied_embeddings": "tie_word_embeddings"}

_ROPE_TYPES = ("default", "linear", "dynamic", "yarn", "longrope", "su", "llama3")


class HFReader:
    """Strict, key-tracking access to one HF config mapping; problems collected, not raised."""

    def __init__(self, data: dict, file: str, prefix: str = ""):
        self.data, self.file, self.prefix = data, file, prefix
        self.problems: list[Problem] = []
        self.seen: set[str] = set()

    def error(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.file, self.prefix + key, message))

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def raw(self, key: str, default=_ABSENT):
        self.seen.add(key)
        value = self.data.get(key)
        if value is None:
            if default is _ABSENT:
                self.error(key, f"missing key{did_you_mean(key, list(self.data))}; the model needs it")
                return None
            return default
        return value

    def integer(self, key: str, default=_ABSENT, minimum: int = 1):
        value = self.raw(key, default)
        if value is None or value is default:
            return value
        if type(value) is not int:
            self.error(key, f"must be a JSON integer (got {json.dumps(value)})")
            return None
        if value < minimum:
            self.error(key, f"must be >= {minimum} (got {value})")
            return None
        return value

    def boolean(self, key: str, default=_ABSENT):
        value = self.raw(key, default)
        if value is None or value is default:
            return value
        if type(value) is not bool:
            self.error(key, f"must be JSON true or false (got {json.dumps(value)}); a string is not a boolean")
            return None
        return value

    def number(self, key: str, default=_ABSENT):
        value = self.raw(key, default)
        if value is None or value is default:
            return value
        if type(value) not in (int, float) or (type(value) is float and not math.isfinite(value)) or not 0 < value <= 2**53:
            self.error(key, f"must be a positive number, at most 2^53 (got {json.dumps(value)})")
            return None
        return value

    def string(self, key: str, default=_ABSENT):
        value = self.raw(key, default)
        if value is None or value is default:
            return value
        if not isinstance(value, str):
            self.error(key, f"must be a string (got {json.dumps(value)})")
            return None
        return value

    def ignore(self, *keys: str) -> None:
        self.seen.update(keys)

    def expect(self, key: str, allowed, why: str) -> None:
        """A key read only to check that it holds a value the model supports (``allowed``)."""
        value = self.raw(key, None)
        if value is not None and value not in allowed:
            self.error(key, f"{json.dumps(value)} is not supported ({why}); supported: "
                            f"{', '.join(json.dumps(a) for a in allowed)}")

    def reject_unknown(self, family_no_cost=()) -> None:
        allowed = self.seen | set(NO_COST) | set(family_no_cost)
        for key in self.data:
            if key not in allowed:
                owner = (f"of {self.prefix.rstrip('.')} (quant_method {self.data.get('quant_method')!r})"
                         if self.prefix else f"for model_type {self.data.get('model_type')!r}")
                self.error(key, f"unknown key {owner}"
                                f"{did_you_mean(key, sorted(allowed))}: accelsim cannot tell whether it changes "
                                f"the cost, so the config is refused; remove the key if it has no cost effect")


# -- shared pieces ---------------------------------------------------------------------------------

def _activation(h: HFReader, key: str, gated: bool) -> str | None:
    act = h.string(key)
    if act is None:
        return None
    if act in ("silu", "swish") and gated:
        return "swiglu"
    if act.startswith("gelu"):
        return "geglu" if gated else "gelu"
    return _bad_act(h, key, act)


def _bad_act(h: HFReader, key: str, act: str) -> None:
    h.error(key, f"activation {act!r} is not modelled (supported: silu/swish gated, gelu*)")
    return None


def _rope_scaling(h: HFReader) -> None:
    """Frequency rescaling of RoPE: validated, no cost effect (same rotations, other angles)."""
    value = h.raw("rope_scaling", None)
    if value is None:
        return
    if not isinstance(value, dict):
        h.error("rope_scaling", f"must be an object or null (got {json.dumps(value)})")
        return
    kind = value.get("rope_type", value.get("type"))
    if kind not in _ROPE_TYPES:
        h.error("rope_scaling.rope_type", f"unknown RoPE scaling {kind!r}; supported: {', '.join(_ROPE_TYPES)}")
    factor = value.get("factor")
    if factor is not None and (type(factor) not in (int, float) or factor <= 0):
        h.error("rope_scaling.factor", f"must be a positive number (got {json.dumps(factor)})")


def _quantization(h: HFReader, out: dict) -> None:
    """``quantization_config``: fp8 blocks (DeepSeek-V3), AWQ/GPTQ integer weights with groups."""
    q = h.raw("quantization_config", None)
    if q is None:
        return
    if not isinstance(q, dict):
        h.error("quantization_config", f"must be an object (got {json.dumps(q)})")
        return
    sub = HFReader(q, h.file, "quantization_config.")
    method = sub.string("quant_method")
    if method == "fp8":
        sub.expect("fmt", ("e4m3", "e5m2"), "8-bit float weights")
        sub.expect("activation_scheme", ("dynamic", "static"), "fp8 activations")
        block = sub.raw("weight_block_size", None)
        if block is not None:
            if (not isinstance(block, list) or len(block) != 2 or any(type(b) is not int or b < 1 for b in block)
                    or block[0] != block[1]):
                sub.error("weight_block_size", f"must be [b, b], a square block of positive integers "
                                               f"(got {json.dumps(block)})")
            else:
                out["weight_block"] = block[0]
        out["weight_format"] = "fp8"
    elif method in ("awq", "gptq"):
        bits = sub.integer("bits")
        group = sub.integer("group_size", 128, minimum=-1)
        if bits not in (4, 8, None):
            sub.error("bits", f"must be 4 or 8 (got {bits})")
        if group == -1 or group == 0:
            sub.error("group_size", "per-channel scales (-1) are not modelled; give the group size")
        elif bits in (4, 8) and group:
            out["weight_format"], out["weight_block"] = f"w{bits}a16", group
        sub.ignore("zero_point", "version", "desc_act", "sym", "damp_percent", "true_sequential", "static_groups",
                   "modules_to_not_convert", "checkpoint_format", "model_name_or_path", "model_file_base_name",
                   "backend", "exllama_config", "use_exllama", "dataset", "tokenizer", "batch_size", "pad_token_id",
                   "use_cuda_fp16", "max_input_length", "cache_block_outputs", "module_name_preceding_first_block",
                   "do_fuse", "fuse_max_seq_len", "modules_to_fuse")
    elif method is not None:     # its other keys are that method's: one problem, not one per key
        sub.error("quant_method", f"{method!r} is not modelled; supported: fp8, awq, gptq (or remove "
                                  "quantization_config and give --weights)")
        h.problems += sub.problems
        return
    sub.reject_unknown()
    h.problems += sub.problems


def _decoder(h: HFReader, out: dict, *, gated: bool, tie_default: bool, act_key: str | None = "hidden_act",
             head_dim: bool = True, biases: bool = True) -> None:
    """Keys every Llama-like decoder has."""
    out["num_layers"] = h.integer("num_hidden_layers")
    out["hidden_size"] = h.integer("hidden_size")
    out["num_heads"] = h.integer("num_attention_heads")
    out["num_kv_heads"] = h.integer("num_key_value_heads", out["num_heads"])
    if head_dim:
        hd = h.integer("head_dim", None)
        if hd is not None:
            out["head_dim"] = hd
    out["intermediate_size"] = h.integer("intermediate_size")
    out["vocab_size"] = h.integer("vocab_size")
    top = h.integer("max_position_embeddings", None)
    if top is not None:
        out["max_position"] = top
    out["tied_embeddings"] = h.boolean("tie_word_embeddings", tie_default)
    if act_key is not None:
        out["activation"] = _activation(h, act_key, gated)
    _rope_scaling(h)
    if biases:
        out["attention_bias"] = h.boolean("attention_bias", False)
        out["mlp_bias"] = h.boolean("mlp_bias", False)
    _quantization(h, out)


def _window(h: HFReader, out: dict, *, use_key: str | None = None) -> None:
    w = h.integer("sliding_window", None)
    if use_key is not None:
        use = h.boolean(use_key, False)
        if not use:
            return
    if w is not None:
        out["sliding_window"] = w


def _moe_layers(out: dict, moe_flags: list[bool]) -> None:
    out["moe_layers"] = sum(moe_flags)


# -- families ----------------------------------------------------------------------------------------

def _llama(h, out):
    _decoder(h, out, gated=True, tie_default=False)


def _mistral(h, out):
    _decoder(h, out, gated=True, tie_default=False)
    _window(h, out)


def _mixtral(h, out):
    _mistral(h, out)
    out["num_experts"] = h.integer("num_local_experts")
    out["experts_per_token"] = h.integer("num_experts_per_tok")


def _layer_types(h: HFReader, out: dict) -> int | None:
    """``layer_types`` (newer configs): one ``sliding_attention``/``full_attention`` per layer;
    returns how many layers are sliding, or None when the key is absent."""
    types = h.raw("layer_types", None)
    if types is None:
        return None
    n = out.get("num_layers") or 0
    if not isinstance(types, list) or len(types) != n or any(t not in ("sliding_attention", "full_attention")
                                                             for t in types):
        h.error("layer_types", f"must list num_hidden_layers={n} entries of sliding_attention/full_attention")
        return None
    return types.count("sliding_attention")


def _qwen_window(h, out):
    """Qwen2/3: with ``use_sliding_window``, layers ``i >= max_window_layers`` use the window (or
    the layers ``layer_types`` marks ``sliding_attention``)."""
    sliding = _layer_types(h, out)
    _window(h, out, use_key="use_sliding_window")
    if "sliding_window" in out:
        mwl = h.integer("max_window_layers", out["num_layers"] or 0, minimum=0)
        if sliding is not None:
            out["sliding_window_layers"] = sliding
        elif mwl is not None and out["num_layers"]:
            out["sliding_window_layers"] = max(out["num_layers"] - mwl, 0)
        if not out.get("sliding_window_layers"):
            out.pop("sliding_window", None)
            out.pop("sliding_window_layers", None)
    h.expect("use_mrope", (False,), "multimodal RoPE sections belong to Qwen2-VL")


def _qwen2(h, out):
    _decoder(h, out, gated=True, tie_default=False, biases=False)
    out["attention_bias"], out["attention_out_bias"] = True, False   # q/k/v biases, o_proj without
    _qwen_window(h, out)


def _qwen_moe(h, out, *, shared: bool):
    experts = h.integer("num_experts")
    out["num_experts"] = experts
    out["experts_per_token"] = h.integer("num_experts_per_tok")
    out["moe_intermediate_size"] = h.integer("moe_intermediate_size")
    if shared:
        size = h.integer("shared_expert_intermediate_size", 0, minimum=0)
        if size:
            out.update(num_shared_experts=1, shared_expert_intermediate_size=size, shared_expert_gate=True)
    step = h.integer("decoder_sparse_step", 1)
    only = h.raw("mlp_only_layers", [])
    if not isinstance(only, list) or any(type(i) is not int or i < 0 for i in only):
        h.error("mlp_only_layers", f"must be a list of layer indices (got {json.dumps(only)})")
        only = []
    n = out["num_layers"] or 0
    if any(i >= n for i in only):
        h.error("mlp_only_layers", f"indices must be < num_hidden_layers={n} (got {only})")
    if step and experts:
        # transformers Qwen2MoeDecoderLayer: sparse iff not in mlp_only_layers and (i + 1) % step == 0
        _moe_layers(out, [i not in only and (i + 1) % step == 0 for i in range(n)])


def _qwen2_moe(h, out):
    _qwen2(h, out)
    _qwen_moe(h, out, shared=True)


def _qwen3(h, out):
    _decoder(h, out, gated=True, tie_default=False)
    out["qk_norm"] = True
    _qwen_window(h, out)


def _qwen3_moe(h, out):
    _qwen3(h, out)
    _qwen_moe(h, out, shared=False)


def _gemma(h, out):
    _decoder(h, out, gated=True, tie_default=True, act_key=None)
    # the MLP's activation: hidden_activation (newer configs) over hidden_act; Gemma's MLP is GeGLU
    keys = [k for k in ("hidden_activation", "hidden_act") if h.has(k)] or ["hidden_activation"]
    for key in keys:
        out["activation"] = _activation(h, key, gated=True)
    out["embedding_scale"] = True     # hidden states * sqrt(hidden_size) after the lookup (GemmaModel)


def _softcaps(h, out):
    for ours, key in (("attention_softcap", "attn_logit_softcapping"), ("final_softcap", "final_logit_softcapping")):
        cap = h.number(key, None)
        if cap is not None:
            out[ours] = cap


def _gemma2(h, out):
    _gemma(h, out)
    out["norms_per_layer"] = 4   # input, post-attention, pre- and post-feedforward RMSNorms
    _softcaps(h, out)
    _window(h, out)
    size = h.integer("sliding_window_size", None)
    if size is not None and size != out.get("sliding_window"):
        h.error("sliding_window_size", f"must equal sliding_window={out.get('sliding_window')} (got {size})")
    sliding = _layer_types(h, out)
    if "sliding_window" in out and out["num_layers"]:
        # even layers are local (Gemma2DecoderLayer), or as layer_types lists them
        out["sliding_window_layers"] = sliding if sliding is not None else (out["num_layers"] + 1) // 2


def _gemma3_text(h, out):
    _gemma(h, out)
    out["norms_per_layer"] = 4
    out["qk_norm"] = True
    _softcaps(h, out)
    _window(h, out)
    n = out["num_layers"] or 0
    sliding = _layer_types(h, out)
    pattern = h.integer("sliding_window_pattern", None)
    if sliding is not None:
        out["sliding_window_layers"] = sliding
    elif pattern is not None:
        out["sliding_window_layers"] = n - n // pattern   # every pattern-th layer is global
    if "sliding_window" not in out:
        out.pop("sliding_window_layers", None)


def _phi3(h, out):
    _decoder(h, out, gated=True, tie_default=False)
    _window(h, out)
    factor = h.number("partial_rotary_factor", None)
    if factor is not None and factor < 1:
        hd = out.get("head_dim") or (out["hidden_size"] // out["num_heads"]
                                     if out["hidden_size"] and out["num_heads"] else 0)
        out["rotary_dim"] = int(hd * factor)


def _falcon(h, out):
    """FalconModel: fused query_key_value, MQA (``multi_query``) or ``num_kv_heads`` groups with
    ``new_decoder_architecture``, parallel attention + MLP, LayerNorm, GeLU, tied lm_head."""
    out["num_layers"] = h.integer("num_hidden_layers")
    out["hidden_size"] = d = h.integer("hidden_size")
    out["num_heads"] = heads = h.integer("num_attention_heads")
    out["vocab_size"] = h.integer("vocab_size")
    out["norm"] = "layernorm"
    new = h.boolean("new_decoder_architecture", False)
    multi_query = h.boolean("multi_query", True)
    parallel = h.boolean("parallel_attn", True)
    if new:
        out["num_kv_heads"] = h.integer("num_kv_heads", heads)
    else:
        h.ignore("num_kv_heads")
        out["num_kv_heads"] = 1 if multi_query else heads
    ff = h.integer("ffn_hidden_size", None)
    out["intermediate_size"] = ff if ff is not None else (4 * d if d else None)
    if new:
        lns = h.integer("num_ln_in_parallel_attn", 2)
        out["norms_per_layer"] = lns
        out["parallel_attention"] = True
    else:
        h.ignore("num_ln_in_parallel_attn")
        out["norms_per_layer"] = 1 if parallel else 2
        out["parallel_attention"] = bool(parallel)
    bias = h.boolean("bias", False)
    out.update(attention_bias=bias, mlp_bias=bias, activation="gelu")
    h.expect("activation", ("gelu",), "Falcon's MLP activation")
    alibi = h.boolean("alibi", False)
    out["position_embedding"] = "alibi" if alibi else "rope"
    out["tied_embeddings"] = h.boolean("tie_word_embeddings", True)
    h.expect("apply_residual_connection_post_layernorm", (False,), "post-LN residuals are not modelled")
    top = h.integer("max_position_embeddings", None)
    if top is not None:
        out["max_position"] = top
    _rope_scaling(h)
    _quantization(h, out)


def _gpt2(h, out):
    out["num_layers"] = h.integer("n_layer")
    out["hidden_size"] = d = h.integer("n_embd")
    out["num_heads"] = h.integer("n_head")
    out["vocab_size"] = h.integer("vocab_size")
    inner = h.integer("n_inner", None)
    out["intermediate_size"] = inner if inner is not None else (4 * d if d else None)
    out["max_position"] = h.integer("n_positions")
    act = _activation(h, "activation_function", gated=False) if h.has("activation_function") else "gelu"
    out.update(activation=act, position_embedding="learned", norm="layernorm", attention_bias=True, mlp_bias=True,
               tied_embeddings=h.boolean("tie_word_embeddings", True))
    _quantization(h, out)


def _gptj(h, out):
    """GPTJModel: one LayerNorm per block, attention and MLP in parallel, q/k/v/out without bias,
    MLP with bias, partial rotary ``rotary_dim``, untied lm_head with bias."""
    out["num_layers"] = h.integer("n_layer")
    out["hidden_size"] = d = h.integer("n_embd")
    out["num_heads"] = h.integer("n_head")
    out["vocab_size"] = h.integer("vocab_size")
    inner = h.integer("n_inner", None)
    out["intermediate_size"] = inner if inner is not None else (4 * d if d else None)
    out["max_position"] = h.integer("n_positions")
    rot = h.integer("rotary_dim", None)
    if rot is not None:
        out["rotary_dim"] = rot
    h.expect("rotary", (True,), "GPT-J uses rotary positions")
    act = _activation(h, "activation_function", gated=False) if h.has("activation_function") else "gelu"
    out.update(activation=act, norm="layernorm", norms_per_layer=1, parallel_attention=True, attention_bias=False,
               mlp_bias=True, lm_head_bias=True, tied_embeddings=h.boolean("tie_word_embeddings", False))
    _quantization(h, out)


def _gpt_neox(h, out):
    """GPTNeoXModel: fused qkv with bias, two LayerNorms, parallel residual, partial rotary."""
    out["num_layers"] = h.integer("num_hidden_layers")
    out["hidden_size"] = h.integer("hidden_size")
    out["num_heads"] = heads = h.integer("num_attention_heads")
    out["intermediate_size"] = h.integer("intermediate_size")
    out["vocab_size"] = h.integer("vocab_size")
    top = h.integer("max_position_embeddings", None)
    if top is not None:
        out["max_position"] = top
    out["activation"] = _activation(h, "hidden_act", gated=False)
    pct = h.number("rotary_pct", 1.0)
    if pct is not None and out["hidden_size"] and heads:
        hd = out["hidden_size"] // heads
        if pct > 1:
            h.error("rotary_pct", f"must be <= 1 (got {pct})")
        elif pct < 1:
            out["rotary_dim"] = int(hd * pct)
    bias = h.boolean("attention_bias", True)
    out.update(norm="layernorm", attention_bias=bias, mlp_bias=True,
               parallel_attention=h.boolean("use_parallel_residual", True),
               tied_embeddings=h.boolean("tie_word_embeddings", False))
    _rope_scaling(h)
    _quantization(h, out)


def _olmo(h, out):
    """OlmoModel: Llama-like with a non-parametric LayerNorm (no scale, no shift)."""
    _decoder(h, out, gated=True, tie_default=False)
    out.update(norm="layernorm", norm_weights=False, norm_bias=False)
    h.expect("clip_qkv", (), "clamping q/k/v is not modelled; use clip_qkv: null")


def _deepseek(h, out, v3: bool):
    _decoder(h, out, gated=True, tie_default=False, biases=False)
    out["attention_bias"] = h.boolean("attention_bias", False)
    for ours, key in (("q_lora_rank", "q_lora_rank"), ("kv_lora_rank", "kv_lora_rank"),
                      ("qk_rope_head_dim", "qk_rope_head_dim"), ("qk_nope_head_dim", "qk_nope_head_dim"),
                      ("v_head_dim", "v_head_dim")):
        value = h.integer(key, None)
        if value is not None:
            out[ours] = value
    experts = h.integer("n_routed_experts", None)
    if experts:
        out["num_experts"] = experts
        out["experts_per_token"] = h.integer("num_experts_per_tok")
        out["num_shared_experts"] = h.integer("n_shared_experts", 0, minimum=0)
        out["moe_intermediate_size"] = h.integer("moe_intermediate_size")
        first = h.integer("first_k_dense_replace", 0, minimum=0)
        freq = h.integer("moe_layer_freq", 1)
        n = out["num_layers"] or 0
        if first is not None and freq:
            out["first_dense_layers"] = min(first, n)
            # transformers DeepseekV2DecoderLayer: MoE iff i >= first_k_dense_replace and i % moe_layer_freq == 0
            _moe_layers(out, [i >= first and i % freq == 0 for i in range(first, n)] if n > first else [])
        method = h.string("topk_method", "greedy")
        if method not in ("greedy", "group_limited_greedy", "noaux_tc"):
            h.error("topk_method", f"{method!r} is not modelled (greedy, group_limited_greedy, noaux_tc)")
        out["router_bias"] = method == "noaux_tc"   # e_score_correction_bias, one per expert (V3)
        h.expect("scoring_func", ("softmax", "sigmoid"), "router scores")
        h.ignore("n_group", "topk_group")
    else:
        h.ignore("num_experts_per_tok", "n_shared_experts", "moe_intermediate_size", "first_k_dense_replace",
                 "moe_layer_freq", "topk_method", "scoring_func", "n_group", "topk_group")


FAMILIES = {
    "llama": _llama, "mistral": _mistral, "mixtral": _mixtral, "qwen2": _qwen2, "qwen2_moe": _qwen2_moe,
    "qwen3": _qwen3, "qwen3_moe": _qwen3_moe, "gemma": _gemma, "gemma2": _gemma2, "gemma3_text": _gemma3_text,
    "phi3": _phi3, "falcon": _falcon, "gpt2": _gpt2, "gptj": _gptj, "gpt_neox": _gpt_neox, "olmo": _olmo,
    "deepseek_v2": lambda h, out: _deepseek(h, out, False), "deepseek_v3": lambda h, out: _deepseek(h, out, True),
}


def _mamba(h, out, version: int):
    """Mamba (Gu and Dao 2023) and Mamba-2 (Dao and Gu 2024) blocks from ``MambaConfig``/``Mamba2Config``."""
    out["mixer"] = "mamba" if version == 1 else "mamba2"
    out["num_layers"] = h.integer("num_hidden_layers") if h.has("num_hidden_layers") or not h.has("n_layer") \
        else h.integer("n_layer")
    if h.has("n_layer") and h.has("num_hidden_layers") and h.data["n_layer"] != h.data["num_hidden_layers"]:
        h.error("n_layer", f"must equal num_hidden_layers={h.data['num_hidden_layers']}")
    h.ignore("n_layer")
    out["hidden_size"] = d = h.integer("hidden_size")
    out["vocab_size"] = h.integer("vocab_size")
    out["ssm_state_size"] = h.integer("state_size", 16)
    expand = h.integer("expand", 2)
    if d and expand:
        out["ssm_inner_size"] = expand * d
    out["ssm_conv_kernel"] = h.integer("conv_kernel", 4)
    out["ssm_bias"] = h.boolean("use_bias", False)
    out["ssm_conv_bias"] = h.boolean("use_conv_bias", True)
    h.expect("hidden_act", ("silu",), "the Mamba block's SiLU")
    rms = h.boolean("rms_norm", True)
    out["norm"] = "rmsnorm" if rms else "layernorm"
    out["norms_per_layer"] = 1
    out["tied_embeddings"] = h.boolean("tie_word_embeddings", True)
    rank = h.raw("time_step_rank", "auto")
    if version == 1:
        if rank == "auto":
            out["ssm_dt_rank"] = math.ceil(d / 16) if d else None
        elif type(rank) is int and rank >= 1:
            out["ssm_dt_rank"] = rank
        else:
            h.error("time_step_rank", f"must be \"auto\" or a positive integer (got {json.dumps(rank)})")
    else:
        out["ssm_heads"] = h.integer("num_heads")
        out["ssm_groups"] = h.integer("n_groups", 1)
        hd = h.integer("head_dim", 64)
        if out["ssm_heads"] and hd and out.get("ssm_inner_size") and out["ssm_heads"] * hd != out["ssm_inner_size"]:
            h.error("num_heads", f"num_heads x head_dim = {out['ssm_heads'] * hd} must equal expand x hidden_size = "
                                 f"{out['ssm_inner_size']}")
    _quantization(h, out)


def _bert(h, out):
    out["num_layers"] = h.integer("num_hidden_layers")
    out["hidden_size"] = h.integer("hidden_size")
    out["num_heads"] = h.integer("num_attention_heads")
    out["intermediate_size"] = h.integer("intermediate_size")
    out["vocab_size"] = h.integer("vocab_size")
    out["max_position"] = h.integer("max_position_embeddings")
    out["activation"] = _activation(h, "hidden_act", gated=False)
    out.update(position_embedding="learned", norm="layernorm", attention_bias=True, mlp_bias=True,
               embedding_norm=True, final_norm=False, pooler=True, lm_head=False,
               type_vocab_size=h.integer("type_vocab_size", 2, minimum=0))
    h.expect("position_embedding_type", ("absolute",), "relative position embeddings are not modelled")
    h.ignore("layer_norm_eps", "classifier_dropout")


FAMILIES.update({"mamba": lambda h, out: _mamba(h, out, 1), "mamba2": lambda h, out: _mamba(h, out, 2),
                 "bert": _bert})


def _architectures(h: HFReader, model_type: str) -> None:
    """``architectures`` names the head: a causal LM head is modelled (an lm_head over the
    vocabulary); a classification or other head would change the cost, so it is refused.
    BERT configs are read as ``BertModel`` (encoder + pooler) whatever head they name."""
    value = h.raw("architectures", None)
    if value is None or model_type == "bert":
        return
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        h.error("architectures", f"must be a list of class names (got {json.dumps(value)})")
        return
    for arch in value:
        if not arch.endswith(("ForCausalLM", "LMHeadModel")):
            h.error("architectures", f"{arch!r}: only causal language-model heads (…ForCausalLM, …LMHeadModel) "
                                     f"are modelled; a different head changes the cost")


def hf_config_from_dict(cfg, file: str, name: str | None = None) -> LLMConfig:
    """Build an :class:`LLMConfig` from a parsed HF config; every problem reported at once."""
    if not isinstance(cfg, dict):
        raise AccelsimError(f"{file}: must be a JSON object of config keys")
    h = HFReader(cfg, file)
    model_type = h.string("model_type")
    if model_type is None:
        raise SpecError(h.problems)
    family = FAMILIES.get(model_type)
    if family is None:
        hint = did_you_mean(model_type, sorted(FAMILIES))
        extra = (" (multimodal: save its text_config, with model_type gemma3_text, as its own config.json)"
                 if model_type == "gemma3" else "")
        raise AccelsimError(f"{file}: model_type: {model_type!r} is not a supported family{hint}{extra}; "
                            f"supported: {', '.join(sorted(FAMILIES))}")
    out: dict = {"name": name or cfg.get("_name_or_path") or model_type,
                 "source": f"Hugging Face config.json ({file}), model_type {model_type}"}
    _architectures(h, model_type)
    family(h, out)
    h.reject_unknown()
    if h.problems:
        raise SpecError(h.problems)
    out = {k: v for k, v in out.items() if v is not None}
    try:
        return llm_config_from_dict(out, file)
    except SpecError as exc:   # name the config's own keys (num_attention_heads, not num_heads)
        hf_keys = {**_HF_NAMES, "num_experts": next((k for k in ("num_local_experts", "n_routed_experts",
                                                                 "num_experts") if k in cfg), "num_experts")}
        raise SpecError([Problem(p.file, hf_keys.get(p.key_path, p.key_path),
                                 p.message + (f" (accelsim's {p.key_path})" if p.key_path in hf_keys else ""))
                         for p in exc.problems]) from None


def from_hf_config(path, name: str | None = None) -> LLMConfig:
    """Import a local Hugging Face ``config.json`` (no download) as an :class:`LLMConfig`.

    Strict: unknown keys, strings where booleans or integers belong, and unsupported values are
    errors naming the key (all at once); keys without a cost effect are listed in :data:`NO_COST`.
    """
    from ..spec.common import load_json
    path = Path(path)
    return hf_config_from_dict(load_json(path), str(path), name)
