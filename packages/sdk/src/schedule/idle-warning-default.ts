/** Minutes between an idle or quota warning and the stop, for a class whose policy names none. */
export const DEFAULT_IDLE_WARNING_MINUTES = 10;
