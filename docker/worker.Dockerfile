# syntax=docker/dockerfile:1.7
# GPU worker: `ipa worker` (Node agent) driving the PyTorch side (transformers, TRL, PEFT, vLLM).
# Build from the repository root: docker build -f docker/worker.Dockerfile -t ipa-worker .
# Why these bases and pins: docker/README.md.

# Production Node dependencies only; tsx runs the TypeScript CLI, so there is no build step.
FROM node:20-bookworm-slim AS node-deps
WORKDIR /opt/ipa
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

# CUDA 13.0 because the PyPI wheels of torch 2.14 (vLLM 0.33's exact pin) are built against it;
# the wheels carry their own CUDA libraries, the base brings the matching runtime and cuDNN for
# anything else and tells the NVIDIA container toolkit what driver it needs (>= 580).
FROM nvidia/cuda:13.0.0-cudnn-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_PYTHON_INSTALL_DIR=/opt/python \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1

# tini forwards SIGTERM to the agent so it finishes its current job before exit (compose stop).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tini libglib2.0-0 libgomp1 \
 && rm -rf /var/lib/apt/lists/*

# Ubuntu 24.04 ships Python 3.12; uv installs the 3.11 the lock was resolved for.
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
RUN uv python install 3.11.13 && uv venv --python 3.11.13 /opt/venv
ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH

# One resolved set: vllm, torch, transformers, trl, peft, accelerate pinned together.
COPY docker/worker-requirements.lock /tmp/worker-requirements.lock
RUN --mount=type=cache,target=/root/.cache/uv uv pip sync --python /opt/venv/bin/python /tmp/worker-requirements.lock \
 && rm /tmp/worker-requirements.lock

# The Node runtime for the agent, from the same Node image as the dependencies above.
COPY --from=node-deps /usr/local/bin/node /usr/local/bin/node

WORKDIR /opt/ipa
COPY --from=node-deps /opt/ipa/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY orchestrator ./orchestrator
COPY workers ./workers
COPY recipes ./recipes

# uid 10001 in every ipa image, so workers and the orchestrator can all write the shared runs volume.
RUN useradd --create-home --uid 10001 --user-group ipa \
 && ln -s /opt/ipa/bin/ipa.js /usr/local/bin/ipa \
 && mkdir -p /opt/ipa/runs /opt/ipa/models /opt/ipa/data \
 && chown ipa:ipa /opt/ipa/runs /opt/ipa/models /opt/ipa/data

ENV IPA_PYTHON=/opt/venv/bin/python \
    PYTHONPATH=/opt/ipa/workers \
    IPA_RUNS_DIR=/opt/ipa/runs \
    HF_HOME=/home/ipa/.cache/huggingface \
    NODE_ENV=production

USER ipa

# Healthy = the GPU it was given is still usable (a GPU that fell off the bus leaves the agent alive).
HEALTHCHECK --interval=60s --timeout=30s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import sys, torch; sys.exit(0 if torch.cuda.is_available() and torch.cuda.device_count() > 0 else 1)"]

ENTRYPOINT ["tini", "--", "ipa", "worker"]
CMD ["--queues", "sample,verify,revise,pair,eval", "--gpu", "0", "--concurrency", "1"]
