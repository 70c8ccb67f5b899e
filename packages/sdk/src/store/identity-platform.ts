import type { IdentityPlatform } from './records.js';
import { IdentityPlatformError } from './store-errors.js';

/**
 * What a platform id looks like (`slack`, `discord`, `cli`, `web`, `mattermost`): a lower-case letter,
 * then lower-case letters, digits or dashes, 2–32 long. The store keeps no other.
 */
export const IDENTITY_PLATFORM_ID = /^[a-z][a-z0-9-]{1,31}$/;

/** Whether `platform` is a well-formed platform id ({@link IDENTITY_PLATFORM_ID}). */
export function isIdentityPlatformId(platform: string): platform is IdentityPlatform {
  return IDENTITY_PLATFORM_ID.test(platform);
}

/** Throws an {@link IdentityPlatformError} unless `platform` is a well-formed platform id. */
export function assertIdentityPlatformId(platform: string): asserts platform is IdentityPlatform {
  if (!isIdentityPlatformId(platform)) throw new IdentityPlatformError(platform);
}
