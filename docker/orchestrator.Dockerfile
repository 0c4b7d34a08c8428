# syntax=docker/dockerfile:1.7
# Orchestrator: the `ipa` CLI and the dashboard (`ipa dashboard`). No Python, no GPU.
# Build from the repository root: docker build -f docker/orchestrator.Dockerfile -t ipa-orchestrator .

FROM node:20-bookworm-slim AS deps
WORKDIR /opt/ipa
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/ipa
COPY --from=deps /opt/ipa/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY orchestrator ./orchestrator

# The same uid as the worker image: both write the shared runs volume. Compose may run it as
# another uid (IPA_UID), one with no passwd entry: HOME and the state folder (runs.jsonl of
# `ipa submit`/`ipa list`, a volume in compose) are explicit paths any uid can write.
# Recipes are not in the image: compose mounts them at /opt/ipa/recipes.
RUN useradd --create-home --uid 10001 --user-group ipa \
 && ln -s /opt/ipa/bin/ipa.js /usr/local/bin/ipa \
 && mkdir -p /opt/ipa/runs /opt/ipa/models /opt/ipa/data /opt/ipa/recipes /opt/ipa/state /opt/ipa/home \
 && chown ipa:ipa /opt/ipa/runs /opt/ipa/models /opt/ipa/data \
 && chmod 1777 /opt/ipa/state /opt/ipa/home

ENV IPA_RUNS_DIR=/opt/ipa/runs \
    IPA_STATE_DIR=/opt/ipa/state \
    HOME=/opt/ipa/home \
    NODE_ENV=production \
    IPA_DASHBOARD_PORT=3000

USER ipa
EXPOSE 3000

# Any HTTP answer means the server is up (without the token the answer is a refusal, and that is fine).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.IPA_DASHBOARD_PORT || 3000) + '/').then(() => process.exit(0), () => process.exit(1))"]

ENTRYPOINT ["tini", "--", "ipa"]
CMD ["dashboard", "--host", "0.0.0.0", "--port", "3000"]
