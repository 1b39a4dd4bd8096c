# Eventix: the API, the scheduler and maintenance (and a worker with --tasks). Used by docker-compose.yml.
# Not built on the development machine, which has no Docker engine: see README "Docker Compose".
FROM node:22-slim

ENV NODE_ENV=production \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false

WORKDIR /app
RUN chown node:node /app
USER node

# Everything `npm ci` needs, including what its `prepare` step (tsc → dist/) compiles.
COPY --chown=node:node package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY --chown=node:node bin ./bin
COPY --chown=node:node src ./src
COPY --chown=node:node drizzle ./drizzle
# --include=dev: prepare needs typescript; NODE_ENV=production would otherwise omit it.
RUN npm ci --include=dev

EXPOSE 8080
# bin/eventix.js runs the TypeScript sources through tsx when src/ is present, as it is here.
CMD ["node", "bin/eventix.js", "start"]
