// The light entry `@lab/web/front-end`: the front-end definition, without loading Fastify or openid-client until it starts.
export { webFrontEnd, webIdentity } from './web-front-end.js';
export { webConfigSchema, type WebConfig } from './web-config.js';
