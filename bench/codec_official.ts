/**
 * The official FlatBuffers runtime's messages for `deno task bench:codec`:
 * flatc's generated code (`shared/generated/`) over npm `flatbuffers`, one
 * reused `Builder` (`clear()`, then the generated `create…`/`add…`), as that
 * code intends. The lean codec's counterparts are in `shared/request_codec.ts`,
 * `shared/request_writer.ts` and `shared/reply_codec.ts`.
 *
 * @example
 * ```ts
 * import { OfficialMessages } from "./codec_official.ts";
 *
 * const official = new OfficialMessages();
 * console.log(official.legacyReply(new Float32Array(10)).length); // 96: every field written
 * ```
 * @module
 */
import * as flatbuffers from "flatbuffers";
import { Command as GenCommand } from "../shared/generated/mnist-prot/command.ts";
import { Commands } from "../shared/generated/mnist-prot/commands.ts";
import { InferenceInput } from "../shared/generated/mnist-prot/inference-input.ts";
import { InferenceOutput } from "../shared/generated/mnist-prot/inference-output.ts";

/** The official runtime's messages, built as flatc's generated code intends. */
export class OfficialMessages {
  builder = new flatbuffers.Builder(4096);

  legacyRequest(digit: Float32Array): Uint8Array {
    const b = this.builder;
    b.clear();
    const vector = InferenceInput.createDigitVector(b, digit);
    const input = InferenceInput.createInferenceInput(b, vector, 0);
    Commands.startCommands(b);
    Commands.addCmd(b, GenCommand.CMD_INFERENCE_INPUT);
    Commands.addInput(b, input);
    b.finish(Commands.endCommands(b));
    return b.asUint8Array();
  }

  framedRequest(id: number, digit: Uint8Array): Uint8Array {
    const b = this.builder;
    b.clear();
    const vector = InferenceInput.createDigitU8Vector(b, digit);
    const input = InferenceInput.createInferenceInput(b, 0, vector);
    Commands.startCommands(b);
    Commands.addCmd(b, GenCommand.CMD_INFERENCE_INPUT);
    Commands.addInput(b, input);
    Commands.addRequestId(b, id);
    Commands.finishSizePrefixedCommandsBuffer(b, Commands.endCommands(b));
    return b.asUint8Array();
  }

  framedReply(id: number, scores: Float32Array): Uint8Array {
    const b = this.builder;
    b.clear();
    const f = InferenceOutput.createOutputFVector(b, scores);
    const output = InferenceOutput.createInferenceOutput(b, f, scores.length, 0.31, 3, 1.5, 17, 1);
    Commands.startCommands(b);
    Commands.addCmd(b, GenCommand.CMD_INFERENCE_OUTPUT);
    Commands.addOutput(b, output);
    Commands.addRequestId(b, id);
    Commands.finishSizePrefixedCommandsBuffer(b, Commands.endCommands(b));
    return b.asUint8Array();
  }

  legacyReply(scores: Float32Array): Uint8Array {
    const b = this.builder;
    b.clear();
    // Old clients expect every field written (96 bytes), so defaults are forced.
    b.forceDefaults(true);
    const f = InferenceOutput.createOutputFVector(b, scores);
    InferenceOutput.startInferenceOutput(b);
    InferenceOutput.addOutputF(b, f);
    InferenceOutput.addTimerMs(b, 0.31);
    InferenceOutput.addOutputN(b, scores.length);
    const output = InferenceOutput.endInferenceOutput(b);
    Commands.startCommands(b);
    Commands.addCmd(b, GenCommand.CMD_INFERENCE_OUTPUT);
    Commands.addOutput(b, output);
    b.finish(Commands.endCommands(b));
    b.forceDefaults(false);
    return b.asUint8Array();
  }
}
