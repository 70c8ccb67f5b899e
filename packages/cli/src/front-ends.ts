import { FrontEndRegistry } from '@lab/commands';
import { slackFrontEnd } from '@lab/bot-slack/front-end';
import { discordFrontEnd } from '@lab/bot-discord/front-end';
import { webFrontEnd } from '@lab/web/front-end';
import { cliFrontEnd } from './cli-front-end.js';

/**
 * The front ends `lab` knows: their lab.config.json sections, `lab serve <id>`, direct messages, the
 * take-over of their progress messages and their account columns. A new front end is one entry here
 * (and a dependency of this package); `lab serve`, the notifiers and the take-over name no platform.
 */
export const labFrontEnds = new FrontEndRegistry([cliFrontEnd, slackFrontEnd, discordFrontEnd, webFrontEnd]);
