/**
 * The field slots of the `Commands`, `Stats`, `Input` and `Output` tables of
 * `schema/mnist.fbs`, as the request and reply codecs write and read them.
 * Private to `shared/`: outside it, messages are built and read through the
 * codecs, never by slot. A new field takes the next slot at its table's end.
 *
 * @module
 */
export const COMMANDS_CMD = 0;
export const COMMANDS_STATS = 1;
export const COMMANDS_INPUT = 2;
export const COMMANDS_OUTPUT = 3;
export const COMMANDS_REQUEST_ID = 4;
export const COMMANDS_STATUS = 5;
export const COMMANDS_ERROR = 6;
export const COMMANDS_TOKEN = 7;
export const COMMANDS_MODEL = 8;
export const COMMANDS_CLIENT = 9;
export const COMMANDS_DEVICE = 10;
export const COMMANDS_UPDATE = 11;
export const COMMANDS_CHUNK = 12;
export const STATS_VERSION = 0;
export const STATS_FREQ = 1;
export const STATS_MODE = 2;
export const STATS_PARAMETERS = 3;
export const STATS_SERVED = 4;
export const STATS_MODEL = 5;
export const STATS_MODEL_VERSION = 6;
export const INPUT_DIGIT = 0;
export const INPUT_DIGIT_U8 = 1;
export const OUTPUT_F = 0;
export const OUTPUT_N = 1;
export const OUTPUT_TIMER_MS = 2;
export const OUTPUT_PREDICTED = 3;
export const OUTPUT_QUEUE_MS = 4;
export const OUTPUT_BATCH_SIZE = 5;
export const OUTPUT_MODEL_VERSION = 6;
