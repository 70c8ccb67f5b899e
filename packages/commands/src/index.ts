export * from './command-plugin.js';
export { CommandRouter, wholeNumber, type Invocation, type RateLimit } from './command-router.js';
export { labPlugin, mentionedUserId } from './plugins/lab-plugin.js';
export { myvmPlugin } from './plugins/myvm-plugin.js';
export { createLabServices, type LabServicesOptions } from './lab-services.js';
export { renderProgressBar, renderReplyText } from './render.js';

import { labPlugin } from './plugins/lab-plugin.js';
import { myvmPlugin } from './plugins/myvm-plugin.js';

/** The built-in plugins: `/lab` and `/myvm`. */
export const builtinPlugins = [labPlugin, myvmPlugin] as const;
