# syntax=docker/dockerfile:1
# The image of each Node service (create-service, redirect-service, key-worker, event-worker); they differ only
# in the workspace they run and its port. The key-worker image also runs the schema migration:
#   docker run … shortwave/key-worker node /app/common/src/cassandra/migrate-cli.ts
#
# Build from the repository root, which is the npm workspace (see .dockerignore):
#   docker build --build-arg SERVICE=create-service --build-arg PORT=3001 -t shortwave/create-service .
#   (redirect-service: PORT=3002, key-worker: PORT=3004, event-worker: PORT=3005; compose.yaml names them)
# There is no build step: Node 24 runs the TypeScript sources directly (type stripping).

# ---- dependencies: the production packages of the service and @shortwave/common, nothing else
FROM node:24-alpine AS deps
ARG SERVICE
# Without it every later step would still succeed and build an image that runs nothing.
RUN test -n "$SERVICE" || { echo 'build with --build-arg SERVICE=<workspace> --build-arg PORT=<port>' >&2; exit 1; }
WORKDIR /app
# npm ci checks the lock file against each workspace manifest it finds and skips a workspace whose
# folder is absent (testing/ and web/, which no service needs, stay out); the flags then install
# only this workspace's tree: no root devDependencies (the pinned `node` binary, TypeScript,
# vitest, eslint) and no other service's packages.
COPY package.json package-lock.json ./
COPY common/package.json common/
COPY create-service/package.json create-service/
COPY redirect-service/package.json redirect-service/
COPY key-worker/package.json key-worker/
COPY event-worker/package.json event-worker/
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --workspace=${SERVICE} --include-workspace-root=false --ignore-scripts --no-audit --no-fund

# ---- runtime
FROM node:24-alpine
ARG SERVICE
ARG PORT
# Listen on every interface of the container; the rest of the configuration comes from the
# environment at run time (compose.yaml, k8s/) and is validated at start-up.
ENV HOST=0.0.0.0 \
    PORT=${PORT}
WORKDIR /app
# node_modules at the root and under the workspaces (npm nests a package there when versions
# differ), plus the manifests that make @shortwave/common resolve through its workspace link.
COPY --from=deps /app ./
COPY common/src common/src
COPY ${SERVICE}/src ${SERVICE}/src
# The attribution the country data's licence asks for (CC BY 4.0) travels with the image.
COPY NOTICE ./
# Files stay owned by root: the service can read its code but not change it.
USER node
EXPOSE ${PORT}
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# An exec-form CMD cannot name the service (no variables there), so the working directory does,
# and no shell stands between: node is PID 1 and SIGTERM reaches the service's drain handler
# (`npm start` or `sh -c` would swallow it).
WORKDIR /app/${SERVICE}
CMD ["node", "src/server.ts"]
