# The project image: the `recipes` CLI with its workspace packages and recipes. In a cluster it runs benchmark
# Jobs and, with the renderer's sim option, stands in for engine workers (`recipes sim ...`) on CPU-only nodes.
#   docker build -t llm-recipes:dev .
#   docker run --rm -p 8000:8000 llm-recipes:dev sim --host 0.0.0.0 --port 8000
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
# Manifests first so the dependency layer is cached across source edits.
COPY package.json package-lock.json ./
COPY packages ./packages
COPY tools ./tools
# TypeScript runs by Node's type stripping: runtime dependencies only, no build step.
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY recipes ./recipes
RUN printf '#!/bin/sh\nexec node /app/tools/cli/src/bin.ts "$@"\n' > /usr/local/bin/recipes && chmod +x /usr/local/bin/recipes
USER node
EXPOSE 8000
ENTRYPOINT ["recipes"]
CMD ["--help"]
