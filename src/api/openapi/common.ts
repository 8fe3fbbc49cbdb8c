/** The pieces every part of the OpenAPI document is made of: zod → JSON Schema, refs, envelopes, error responses, parameters. */
import { z } from "zod";

type JsonSchema = Record<string, unknown>;

/** A request body's JSON Schema (zod's input side: defaults optional). */
export const req = (s: z.ZodType): JsonSchema => strip(z.toJSONSchema(s, { io: "input", unrepresentable: "any" }));
/** A response's JSON Schema (zod's output side). */
export const res = (s: z.ZodType): JsonSchema => strip(z.toJSONSchema(s, { io: "output", unrepresentable: "any" }));
function strip(s: JsonSchema): JsonSchema {
  const { $schema: _drop, ...rest } = s;
  return rest;
}

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const json = (schema: JsonSchema) => ({ "application/json": { schema } });
export const envelope = (name: string) => ({ type: "object", properties: { data: ref(name) }, required: ["data"] });
export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(
    [401, 500, ...statuses].map((s) => [String(s), { description: `error (see the code table)`, content: json(ref("ErrorEnvelope")) }]),
  );
export const rtParam = {
  name: "rt",
  in: "path",
  required: true,
  description: "runtime name or id",
  schema: { type: "string" },
};

export const pathParam = { name: "path", in: "query", required: true, description: "absolute path inside the runtime", schema: { type: "string" } };
export const formatParam = { name: "format", in: "query", schema: { type: "string", enum: ["tar", "raw"], default: "tar" } };
export const poolParam = { name: "pool", in: "path", required: true, description: "pool name", schema: { type: "string" } };
export const secretParam = { name: "name", in: "path", required: true, description: "the secret's name (an environment variable's name) or id", schema: { type: "string" } };
export const cpParam = { name: "cp", in: "path", required: true, description: "checkpoint name or id", schema: { type: "string" } };
export const volParam = { name: "vol", in: "path", required: true, description: "volume name or id", schema: { type: "string" } };
export const binary = { schema: { type: "string", format: "binary" } };

export const runtimeOk = (status = "200", description = "the runtime") => ({ [status]: { description, content: json(envelope("Runtime")) } });

export const lifecycle = (verb: string, what: string, body = "LifecycleRequest") => ({
  post: {
    operationId: `${verb}Runtime`,
    summary: what,
    parameters: [rtParam],
    requestBody: { required: false, content: json(ref(body)) },
    responses: { ...runtimeOk(), ...errorResponses(404, 409) },
  },
});
