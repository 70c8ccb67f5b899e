export * from './command-plugin.js';
export {
  CommandRouter,
  EXPIRED_CONFIRMATION,
  type CommandRecord,
  type CommandRouterOptions,
  type ConfirmationClick,
  type Invocation,
  type PreparedCommand,
  type RateLimit,
} from './command-router.js';
export { DECIMAL_NUMBER, decimalNumber, wholeNumber } from './number-option.js';
export { readOptionShape, readOptionShapes, type OptionShape } from './option-shapes.js';
export { labPlugin, mentionedUserId } from './plugins/lab-plugin.js';
export { myvmPlugin } from './plugins/myvm-plugin.js';
export { peoplePlugin } from './plugins/people-plugin.js';
export { classPlugin, inviteSubcommand } from './plugins/class-plugin.js';
export { templatePlugin } from './plugins/template-plugin.js';
export { directoryPlugin } from './plugins/directory-plugin.js';
export { joinSubcommand } from './plugins/join-subcommand.js';
export { parseCommandText, splitWords, isListOption, type ParsedCommandText } from './parse-command-text.js';
export { createLabServices, type LabServicesOptions } from './lab-services.js';
export {
  renderDeploymentSummary,
  renderFinishedDeployment,
  renderProgress,
  renderProgressBar,
  renderReplyText,
} from './render.js';
export { renderDoctorReport } from './doctor-report-text.js';
export { DeploymentProgress, type DeploymentProgressOptions } from './deployment-progress.js';
export {
  ProgressBroadcaster,
  type ProgressBroadcasterOptions,
  type ProgressFrame,
  type SseSink,
} from './progress-broadcaster.js';
export { ProgressThrottle, type ProgressThrottleOptions } from './progress-throttle.js';
export { RunningCommands } from './running-commands.js';
export { directMessageNotifier, type DirectMessageNotifierOptions } from './direct-message-notifier.js';
export type { StartedFrontEnd } from './started-front-end.js';
export {
  defineFrontEnd,
  type FrontEndDefinition,
  type FrontEndServing,
  type FrontEndSettings,
  type FrontEndStartContext,
  type ProgressMessageOwner,
} from './front-end.js';
export { FrontEndRegistry } from './front-end-registry.js';
export { FrontEndRegistrationError, UnknownFrontEndError } from './front-end-errors.js';

import { labPlugin } from './plugins/lab-plugin.js';
import { myvmPlugin } from './plugins/myvm-plugin.js';
import { classPlugin } from './plugins/class-plugin.js';
import { peoplePlugin } from './plugins/people-plugin.js';
import { templatePlugin } from './plugins/template-plugin.js';
import { directoryPlugin } from './plugins/directory-plugin.js';

/** The built-in plugins: `/lab`, `/myvm`, the onboarding ones `/people`, `/class`, `/template`, and `/directory`. */
export const builtinPlugins = [
  labPlugin,
  myvmPlugin,
  peoplePlugin,
  classPlugin,
  templatePlugin,
  directoryPlugin,
] as const;
