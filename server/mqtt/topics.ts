/**
 * The MQTT transport's topics and payloads: a device publishes on
 * `mnist/{device}/infer` and reads `mnist/{device}/result`; both payloads are
 * the framed protocol's FlatBuffers without their 4-byte length prefix.
 *
 * @example
 * ```ts
 * import { encodeMqttReply, inferTopic, resultTopic } from "./topics.ts";
 * import { Command } from "../../shared/codec.ts";
 *
 * console.log(inferTopic("kitchen"), resultTopic("kitchen")); // mnist/kitchen/infer mnist/kitchen/result
 * console.log(encodeMqttReply({ command: Command.ERROR, requestId: 7, status: 5, error: "busy" }).length > 0);
 * ```
 * @module
 */
import type { Reply } from "../../shared/reply_codec.ts";
import { shown } from "../../shared/errors.ts";
import { replyBytes } from "../core/reply_bytes.ts";

/** The topic a device publishes requests on. */
export function inferTopic(device: string): string {
  return `mnist/${device}/infer`;
}

/** The topic a device's replies go to (unless it names an MQTT 5 response topic). */
export function resultTopic(device: string): string {
  return `mnist/${device}/result`;
}

/** The longest response topic taken, in characters, and in levels. */
const MAX_RESPONSE_TOPIC = 256;
const MAX_RESPONSE_LEVELS = 16;

/**
 * Why an MQTT 5 response topic cannot take `device`'s reply, or null when it
 * can. It must be a short topic name a reply can be published on (no `+` or
 * `#`, not too many levels: the broker drops the server's connection for
 * one, and every device's replies with it), and, under `mnist/`, the server's own namespace, the
 * device's own result topic: a device names where its own replies go, never
 * another device's.
 */
export function badResponseTopic(topic: string, device: string): string | null {
  // Mosquitto also drops a publisher for a topic of more than 200 levels: a reply's topic is short.
  if (
    topic.includes("+") || topic.includes("#") || topic.includes("\0") ||
    topic.startsWith("$") || // the broker's own ($SYS/...): a reply there reaches no one
    topic.length > MAX_RESPONSE_TOPIC || topic.split("/").length > MAX_RESPONSE_LEVELS
  ) {
    return `the response topic ${shown(topic)} must be a topic name ` +
      `of at most ${MAX_RESPONSE_TOPIC} characters and ${MAX_RESPONSE_LEVELS} levels, ` +
      `without + or # and not starting with $`;
  }
  if (topic.startsWith("mnist/") && topic !== resultTopic(device)) {
    return `a response topic under mnist/ must be the device's own, ${resultTopic(device)}`;
  }
  return null;
}

/** The framed reply's FlatBuffer without its 4-byte length prefix: an MQTT reply's payload. */
export function encodeMqttReply(reply: Reply): Uint8Array {
  return replyBytes(reply, true).subarray(4);
}
