/** OpenAPI paths: a runtime's network: egress policy and events, secrets and their injection rules, published ports, the ingress. */
import { EGRESS_LIMITS } from "../egress.js";
import { SECRET_LIMITS } from "../secrets.js";
import { envelope, errorResponses, json, ref, rtParam, secretParam } from "./common.js";

export const networkPaths = {
  "/v1/runtimes/{rt}/egress": {
    get: { operationId: "getEgress", parameters: [rtParam], responses: { "200": { description: "the runtime's network and egress policy", content: json(envelope("RuntimeEgress")) }, ...errorResponses(404) } },
    put: {
      operationId: "setEgress",
      summary: "replace the egress policy (applies at once, live connections included)",
      parameters: [rtParam],
      requestBody: { required: true, content: json(ref("EgressPolicyRequest")) },
      responses: { "200": { description: "the new policy", content: json(envelope("RuntimeEgress")) }, ...errorResponses(400, 404, 409) },
    },
  },
  "/v1/runtimes/{rt}/egress/events": {
    get: {
      operationId: "listEgressEvents",
      parameters: [
        rtParam,
        { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: EGRESS_LIMITS.eventsLimitMax, default: EGRESS_LIMITS.eventsLimitDefault }, description: "the last N events" },
        { name: "after", in: "query", schema: { type: "integer", minimum: 0 }, description: "only events with a larger seq (to follow)" },
      ],
      responses: {
        "200": { description: "audit events, oldest first", content: json({ type: "object", properties: { data: { type: "array", items: ref("EgressEvent") } }, required: ["data"] }) },
        ...errorResponses(400, 404),
      },
    },
  },
  "/v1/secrets": {
    get: {
      operationId: "listSecrets",
      summary: "every secret: names and dates, never a value",
      responses: { "200": { description: "the secrets, by name", content: json({ type: "object", properties: { data: { type: "array", items: ref("Secret") } }, required: ["data"] }) }, ...errorResponses() },
    },
  },
  "/v1/secrets/{name}": {
    get: { operationId: "getSecret", parameters: [secretParam], responses: { "200": { description: "the secret (no value) and the rules using it", content: json(envelope("Secret")) }, ...errorResponses(404) } },
    put: {
      operationId: "setSecret",
      summary: `store a secret's value (at most ${SECRET_LIMITS.valueMaxBytes} bytes); an existing name is rotated, effective for the next request`,
      parameters: [secretParam],
      requestBody: { required: true, content: json(ref("SetSecretRequest")) },
      responses: {
        "200": { description: "rotated", content: json(envelope("Secret")) },
        "201": { description: "created", content: json(envelope("Secret")) },
        ...errorResponses(400, 429),
      },
    },
    delete: { operationId: "removeSecret", parameters: [secretParam], responses: { "200": { description: "the removed secret", content: json(envelope("Secret")) }, ...errorResponses(404, 409) } },
  },
  "/v1/runtimes/{rt}/secret-rules": {
    get: {
      operationId: "listSecretRules",
      parameters: [rtParam],
      responses: { "200": { description: "the runtime's injection rules", content: json({ type: "object", properties: { data: { type: "array", items: ref("SecretRule") } }, required: ["data"] }) }, ...errorResponses(404) },
    },
    put: {
      operationId: "setSecretRule",
      summary: "add or replace the rule of (host, header): the egress proxy puts the template, filled with the secret, into that header of the runtime's requests to the host",
      parameters: [rtParam],
      requestBody: { required: true, content: json(ref("SecretRuleRequest")) },
      responses: { "200": { description: "the rule", content: json(envelope("SecretRule")) }, ...errorResponses(400, 404, 409, 429) },
    },
    delete: {
      operationId: "removeSecretRule",
      parameters: [
        rtParam,
        { name: "host", in: "query", required: true, schema: { type: "string" }, description: "the rule's host" },
        { name: "header", in: "query", required: true, schema: { type: "string" }, description: "the rule's header" },
      ],
      responses: { "200": { description: "the removed rule", content: json(envelope("SecretRule")) }, ...errorResponses(400, 404) },
    },
  },
  "/v1/runtimes/{rt}/ports": {
    get: {
      operationId: "listPorts",
      parameters: [rtParam],
      responses: {
        "200": { description: "its published ports with their URLs", content: json({ type: "object", properties: { data: { type: "array", items: ref("PublishedPort") } }, required: ["data"] }) },
        ...errorResponses(404),
      },
    },
    post: {
      operationId: "publishPort",
      summary: "publish one more port: http/https through the ingress, tcp on a host port (bound now: 409 when in use)",
      parameters: [rtParam],
      requestBody: { required: true, content: json(ref("PortRequest")) },
      responses: { "201": { description: "the published port", content: json(envelope("PublishedPort")) }, ...errorResponses(400, 404, 409, 422, 429) },
    },
  },
  "/v1/runtimes/{rt}/ports/{port}": {
    delete: {
      operationId: "unpublishPort",
      summary: "stop publishing a port (its host port and open connections close)",
      parameters: [rtParam, { name: "port", in: "path", required: true, description: "the runtime's port", schema: { type: "integer", minimum: 1, maximum: 65535 } }],
      responses: { "200": { description: "the port as it was", content: json(envelope("PublishedPort")) }, ...errorResponses(400, 404) },
    },
  },
  "/v1/ingress": {
    get: {
      operationId: "getIngress",
      summary: "where the ingress listens, its domain, and the CA certificate of its https URLs",
      responses: { "200": { description: "the ingress", content: json(envelope("IngressInfo")) }, ...errorResponses(503) },
    },
  },
};
