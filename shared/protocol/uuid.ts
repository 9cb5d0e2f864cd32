/** A UUID in its hyphenated form, as ids appear in REST paths, MQTT topics and credentials. */
export const UUID_PATTERN = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

const uuid = new RegExp(`^${UUID_PATTERN}$`, 'i');

/** True when `s` is a UUID (either case): safe to cast to PostgreSQL's uuid. */
export const isUuid = (s: string): boolean => uuid.test(s);
