/** Snapshots a student may keep per VM unless the class's `/lab limits --max-snapshots` says otherwise. */
export const DEFAULT_MAX_SNAPSHOTS = 3;
