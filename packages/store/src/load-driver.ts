import { createRequire } from 'node:module';
import { StoreDriverMissingError } from './store-driver-missing-error.js';

const requireFromHere = createRequire(import.meta.url);

/**
 * Loads a database driver (a CommonJS package) on first use, so only the engine in use must be
 * installed. A driver that is not installed is a `StoreDriverMissingError` naming the package.
 */
export function loadDriver<T>(driver: string, engine: string): T {
  try {
    return requireFromHere(driver) as T;
  } catch (error) {
    if (
      (error as NodeJS.ErrnoException)?.code === 'MODULE_NOT_FOUND' &&
      String((error as Error).message).includes(`'${driver}'`)
    ) {
      throw new StoreDriverMissingError({ driver, engine }, { cause: error });
    }
    throw error;
  }
}
