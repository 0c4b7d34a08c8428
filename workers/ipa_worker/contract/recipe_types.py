"""Typed views of a validated recipe: frozen dataclasses generated from its JSON Schema by
orchestrator/contract/python-types.ts (`npm run contract`). Never edit by hand.

`Recipe.from_dict(payload["recipe"])` gives a stage its settings as typed attributes; numbers
become floats there, once, and the defaults are the recipe's own (zod filled them in).
"""

# fmt: off
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Model:
    """model"""

    base: str
    build_tiny: bool
    tiny_seed: int
    dtype: str
    device: str
    attn_implementation: str
    min_pixels: int
    max_pixels: int

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Model:
        return cls(base=d["base"], build_tiny=d["build_tiny"], tiny_seed=d["tiny_seed"], dtype=d["dtype"], device=d["device"], attn_implementation=d["attn_implementation"], min_pixels=d["min_pixels"], max_pixels=d["max_pixels"])


@dataclass(frozen=True, kw_only=True)
class DataSourcesItem:
    """data.sources[]"""

    path: str
    format: str
    weight: float
    max_rows: int | None = None
    image_root: str | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataSourcesItem:
        return cls(path=d["path"], format=d["format"], weight=float(d["weight"]), max_rows=d.get("max_rows"), image_root=d.get("image_root"))


@dataclass(frozen=True, kw_only=True)
class DataSynthetic:
    """data.synthetic"""

    enabled: bool
    task: str
    control_share: float
    audit_size: int
    output_dir: str
    warmup_size: int
    train_size: int
    validation_size: int
    heldout_size: int
    eval_split: str
    seed: int
    image_size: int

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataSynthetic:
        return cls(enabled=d["enabled"], task=d["task"], control_share=float(d["control_share"]), audit_size=d["audit_size"], output_dir=d["output_dir"], warmup_size=d["warmup_size"], train_size=d["train_size"], validation_size=d["validation_size"], heldout_size=d["heldout_size"], eval_split=d["eval_split"], seed=d["seed"], image_size=d["image_size"])


@dataclass(frozen=True, kw_only=True)
class Data:
    """data"""

    sources: list[DataSourcesItem]
    synthetic: DataSynthetic
    shard_size: int
    max_seeds: int | None = None
    max_instruction_chars: int
    max_image_bytes: int
    max_image_side: int

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Data:
        return cls(sources=[DataSourcesItem.from_dict(x0) for x0 in d["sources"]], synthetic=DataSynthetic.from_dict(d["synthetic"]), shard_size=d["shard_size"], max_seeds=d.get("max_seeds"), max_instruction_chars=d["max_instruction_chars"], max_image_bytes=d["max_image_bytes"], max_image_side=d["max_image_side"])


@dataclass(frozen=True, kw_only=True)
class GenerationVllm:
    """generation.vllm"""

    gpu_memory_utilization: float
    max_model_len: int | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GenerationVllm:
        return cls(gpu_memory_utilization=float(d["gpu_memory_utilization"]), max_model_len=d.get("max_model_len"))


@dataclass(frozen=True, kw_only=True)
class Generation:
    """generation"""

    backend: str
    vllm: GenerationVllm

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Generation:
        return cls(backend=d["backend"], vllm=GenerationVllm.from_dict(d["vllm"]))


@dataclass(frozen=True, kw_only=True)
class Sampling:
    """sampling"""

    num_normal: int
    num_contrastive: int
    temperature: float
    top_p: float
    max_new_tokens: int
    batch_size: int
    perturbations: list[Any]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Sampling:
        return cls(num_normal=d["num_normal"], num_contrastive=d["num_contrastive"], temperature=float(d["temperature"]), top_p=float(d["top_p"]), max_new_tokens=d["max_new_tokens"], batch_size=d["batch_size"], perturbations=list(d["perturbations"]))


@dataclass(frozen=True, kw_only=True)
class VerifierGate:
    """verifier.gate"""

    enabled: bool
    audit_set: str | None = None
    min_accuracy: float

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VerifierGate:
        return cls(enabled=d["enabled"], audit_set=d.get("audit_set"), min_accuracy=float(d["min_accuracy"]))


@dataclass(frozen=True, kw_only=True)
class Verifier:
    """verifier"""

    kind: str
    rule_mode: str
    template: str | None = None
    max_new_tokens: int
    model: str
    audit: str
    rejudge: bool
    rejudge_temperature: float
    gate: VerifierGate

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Verifier:
        return cls(kind=d["kind"], rule_mode=d["rule_mode"], template=d.get("template"), max_new_tokens=d["max_new_tokens"], model=d["model"], audit=d["audit"], rejudge=d["rejudge"], rejudge_temperature=float(d["rejudge_temperature"]), gate=VerifierGate.from_dict(d["gate"]))


@dataclass(frozen=True, kw_only=True)
class Reviser:
    """reviser"""

    feedback_template: str | None = None
    reference_feedback_template: str | None = None
    refine_template: str | None = None
    control_refinements: bool
    max_revisions_per_seed: int
    feedbacks_per_response: int
    temperature: float
    max_new_tokens: int

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Reviser:
        return cls(feedback_template=d.get("feedback_template"), reference_feedback_template=d.get("reference_feedback_template"), refine_template=d.get("refine_template"), control_refinements=d["control_refinements"], max_revisions_per_seed=d["max_revisions_per_seed"], feedbacks_per_response=d["feedbacks_per_response"], temperature=float(d["temperature"]), max_new_tokens=d["max_new_tokens"])


@dataclass(frozen=True, kw_only=True)
class Pairs:
    """pairs"""

    max_pairs_per_seed: int
    rejected_choice: str
    feedback_pairs: bool

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Pairs:
        return cls(max_pairs_per_seed=d["max_pairs_per_seed"], rejected_choice=d["rejected_choice"], feedback_pairs=d["feedback_pairs"])


@dataclass(frozen=True, kw_only=True)
class RoundsItem:
    """rounds[]"""

    name: str | None = None
    seeds: str | None = None
    contrastive: bool
    revision: bool
    reference_guided: bool
    self_evolve: bool | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RoundsItem:
        return cls(name=d.get("name"), seeds=d.get("seeds"), contrastive=d["contrastive"], revision=d["revision"], reference_guided=d["reference_guided"], self_evolve=d.get("self_evolve"))


@dataclass(frozen=True, kw_only=True)
class WarmupSftRoles:
    """warmup.sft.roles"""

    answer: int
    verify: int
    revise: int
    compliance: float
    swapped_references: float

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WarmupSftRoles:
        return cls(answer=d["answer"], verify=d["verify"], revise=d["revise"], compliance=float(d["compliance"]), swapped_references=float(d["swapped_references"]))


@dataclass(frozen=True, kw_only=True)
class WarmupSftLora:
    """warmup.sft.lora"""

    r: int
    alpha: float
    dropout: float
    target_modules: list[str]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WarmupSftLora:
        return cls(r=d["r"], alpha=float(d["alpha"]), dropout=float(d["dropout"]), target_modules=list(d["target_modules"]))


@dataclass(frozen=True, kw_only=True)
class WarmupSft:
    """warmup.sft"""

    enabled: bool
    data: str
    roles: WarmupSftRoles
    epochs: float
    learning_rate: float
    batch_size: int
    full_finetune: bool
    train_vision: bool
    lora: WarmupSftLora
    max_rows: int | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WarmupSft:
        return cls(enabled=d["enabled"], data=d["data"], roles=WarmupSftRoles.from_dict(d["roles"]), epochs=float(d["epochs"]), learning_rate=float(d["learning_rate"]), batch_size=d["batch_size"], full_finetune=d["full_finetune"], train_vision=d["train_vision"], lora=WarmupSftLora.from_dict(d["lora"]), max_rows=d.get("max_rows"))


@dataclass(frozen=True, kw_only=True)
class Warmup:
    """warmup"""

    sft: WarmupSft

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Warmup:
        return cls(sft=WarmupSft.from_dict(d["sft"]))


@dataclass(frozen=True, kw_only=True)
class TrainingDpo:
    """training.dpo"""

    beta: float
    loss_type: Any
    loss_weights: list[float] | None = None
    learning_rate: float
    epochs: float
    batch_size: int
    grad_accum: int
    gradient_checkpointing: bool
    bf16: str
    precompute_ref_log_probs: bool
    max_length: int
    save_steps: int
    save_total_limit: int
    full_finetune: bool
    seed: int
    heldout_pairs: float

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainingDpo:
        return cls(beta=float(d["beta"]), loss_type=d["loss_type"], loss_weights=None if d.get("loss_weights") is None else [float(x0) for x0 in d["loss_weights"]], learning_rate=float(d["learning_rate"]), epochs=float(d["epochs"]), batch_size=d["batch_size"], grad_accum=d["grad_accum"], gradient_checkpointing=d["gradient_checkpointing"], bf16=d["bf16"], precompute_ref_log_probs=d["precompute_ref_log_probs"], max_length=d["max_length"], save_steps=d["save_steps"], save_total_limit=d["save_total_limit"], full_finetune=d["full_finetune"], seed=d["seed"], heldout_pairs=float(d["heldout_pairs"]))


@dataclass(frozen=True, kw_only=True)
class TrainingLora:
    """training.lora"""

    r: int
    alpha: float
    dropout: float
    target_modules: list[str]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainingLora:
        return cls(r=d["r"], alpha=float(d["alpha"]), dropout=float(d["dropout"]), target_modules=list(d["target_modules"]))


@dataclass(frozen=True, kw_only=True)
class TrainingSft:
    """training.sft"""

    learning_rate: float
    epochs: float
    batch_size: int

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainingSft:
        return cls(learning_rate=float(d["learning_rate"]), epochs=float(d["epochs"]), batch_size=d["batch_size"])


@dataclass(frozen=True, kw_only=True)
class TrainingDistributed:
    """training.distributed"""

    strategy: str
    collective_timeout_s: int

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainingDistributed:
        return cls(strategy=d["strategy"], collective_timeout_s=d["collective_timeout_s"])


@dataclass(frozen=True, kw_only=True)
class Training:
    """training"""

    objective: str
    dpo: TrainingDpo
    lora: TrainingLora
    sft: TrainingSft
    train_reviser: bool
    pairs_from: str
    adapters_from: str
    reference_model: str
    report_to: Any
    distributed: TrainingDistributed

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Training:
        return cls(objective=d["objective"], dpo=TrainingDpo.from_dict(d["dpo"]), lora=TrainingLora.from_dict(d["lora"]), sft=TrainingSft.from_dict(d["sft"]), train_reviser=d["train_reviser"], pairs_from=d["pairs_from"], adapters_from=d["adapters_from"], reference_model=d["reference_model"], report_to=d["report_to"], distributed=TrainingDistributed.from_dict(d["distributed"]))


@dataclass(frozen=True, kw_only=True)
class EvalBenchmarksItem:
    """eval.benchmarks[]"""

    name: str
    path: str
    max_rows: int | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvalBenchmarksItem:
        return cls(name=d["name"], path=d["path"], max_rows=d.get("max_rows"))


@dataclass(frozen=True, kw_only=True)
class EvalLmmsEval:
    """eval.lmms_eval"""

    enabled: bool
    tasks: list[str]
    model: str
    batch_size: int
    limit: float | None = None
    num_fewshot: int | None = None
    include_path: str | None = None
    metrics: dict[str, Any]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvalLmmsEval:
        return cls(enabled=d["enabled"], tasks=list(d["tasks"]), model=d["model"], batch_size=d["batch_size"], limit=None if d.get("limit") is None else float(d["limit"]), num_fewshot=d.get("num_fewshot"), include_path=d.get("include_path"), metrics=dict(d["metrics"]))


@dataclass(frozen=True, kw_only=True)
class Eval:
    """eval"""

    benchmarks: list[EvalBenchmarksItem]
    max_new_tokens: int
    batch_size: int
    after: str
    min_warmup_fact_accuracy: float | None = None
    lmms_eval: EvalLmmsEval
    compare_with_paper: bool

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Eval:
        return cls(benchmarks=[EvalBenchmarksItem.from_dict(x0) for x0 in d["benchmarks"]], max_new_tokens=d["max_new_tokens"], batch_size=d["batch_size"], after=d["after"], min_warmup_fact_accuracy=None if d.get("min_warmup_fact_accuracy") is None else float(d["min_warmup_fact_accuracy"]), lmms_eval=EvalLmmsEval.from_dict(d["lmms_eval"]), compare_with_paper=d["compare_with_paper"])


@dataclass(frozen=True, kw_only=True)
class OrchestrationConcurrency:
    """orchestration.concurrency"""

    sample: int
    verify: int
    revise: int
    train: int
    eval: int

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OrchestrationConcurrency:
        return cls(sample=d["sample"], verify=d["verify"], revise=d["revise"], train=d["train"], eval=d["eval"])


@dataclass(frozen=True, kw_only=True)
class Orchestration:
    """orchestration"""

    attempts: int
    backoff_ms: int
    concurrency: OrchestrationConcurrency

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Orchestration:
        return cls(attempts=d["attempts"], backoff_ms=d["backoff_ms"], concurrency=OrchestrationConcurrency.from_dict(d["concurrency"]))


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """the recipe"""

    name: str
    seed: int
    runs_dir: str
    allowed_roots: list[str]
    model: Model
    data: Data
    generation: Generation
    sampling: Sampling
    verifier: Verifier
    reviser: Reviser
    pairs: Pairs
    rounds: list[RoundsItem]
    warmup: Warmup
    training: Training
    eval: Eval
    orchestration: Orchestration

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Recipe:
        return cls(name=d["name"], seed=d["seed"], runs_dir=d["runs_dir"], allowed_roots=list(d["allowed_roots"]), model=Model.from_dict(d["model"]), data=Data.from_dict(d["data"]), generation=Generation.from_dict(d["generation"]), sampling=Sampling.from_dict(d["sampling"]), verifier=Verifier.from_dict(d["verifier"]), reviser=Reviser.from_dict(d["reviser"]), pairs=Pairs.from_dict(d["pairs"]), rounds=[RoundsItem.from_dict(x0) for x0 in d["rounds"]], warmup=Warmup.from_dict(d["warmup"]), training=Training.from_dict(d["training"]), eval=Eval.from_dict(d["eval"]), orchestration=Orchestration.from_dict(d["orchestration"]))
