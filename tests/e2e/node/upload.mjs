// Polyglot consumer check: talk to Darkroom's MediaService from Node.js using
// nothing but the .proto files (no generated code, no Darkroom client library).
//
// Env: DARKROOM_TARGET     host:port of a plaintext gRPC endpoint
//      DARKROOM_API_KEY    sent as `x-api-key` metadata
//      DARKROOM_PROTO_ROOT the repo's proto/ dir (googleapis protos are vendored there)
//      DARKROOM_FILE       image to upload
//
// Prints one JSON line: {"upload": Media, "stream": Media, "get": Media} and exits 0,
// or {"error": {"code": <grpc status code>, "details": "..."}} and exits 1.
// Anything else (bad env, unreadable file or proto) goes to stderr with exit 2,
// so a caller can tell "the server said no" from "the test could not run".

import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { basename } from 'node:path';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const CHUNK_SIZE = 64 * 1024;
const DEADLINE_MS = 60_000; // per call, so a wedged server cannot hang CI

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

// A fresh deadline for each call rather than one for the whole script.
const callOptions = () => ({ deadline: Date.now() + DEADLINE_MS });

// Unary call as a promise.
function unary(client, method, request, metadata) {
  return new Promise((resolve, reject) => {
    client[method](request, metadata, callOptions(), (err, res) => (err ? reject(err) : resolve(res)));
  });
}

// Client-streaming upload: options first, then the bytes in CHUNK_SIZE pieces.
function uploadStream(client, filename, data, metadata) {
  return new Promise((resolve, reject) => {
    const call = client.UploadStream(metadata, callOptions(), (err, res) => (err ? reject(err) : resolve(res)));
    const writeAll = async () => {
      call.write({ options: { filename } });
      for (let offset = 0; offset < data.length; offset += CHUNK_SIZE) {
        // Respect backpressure instead of buffering the whole file in the channel.
        if (!call.write({ chunk: data.subarray(offset, offset + CHUNK_SIZE) })) await once(call, 'drain');
      }
      call.end();
    };
    // A failed write must not leave the call open until the deadline. If the server
    // already answered, that status has settled the promise and this reject is a no-op.
    writeAll().catch((err) => {
      reject(err);
      call.cancel();
    });
  });
}

async function main() {
  const target = env('DARKROOM_TARGET');
  const apiKey = env('DARKROOM_API_KEY');
  const protoRoot = env('DARKROOM_PROTO_ROOT');
  const file = env('DARKROOM_FILE');

  // keepCase keeps the proto's snake_case names (id_encoded, delete_url, ...);
  // longs as strings so int64 survives JSON without precision loss.
  const definition = protoLoader.loadSync('darkroom/v1/media.proto', {
    includeDirs: [protoRoot],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const { MediaService } = grpc.loadPackageDefinition(definition).darkroom.v1;
  const client = new MediaService(target, grpc.credentials.createInsecure());

  const metadata = new grpc.Metadata();
  metadata.set('x-api-key', apiKey);

  const data = readFileSync(file);
  const filename = basename(file);

  try {
    const upload = await unary(
      client, 'Upload', { file: data, options: { filename, title: 'Uploaded from Node' } }, metadata);
    const stream = await uploadStream(client, filename, data, metadata);
    const get = await unary(client, 'GetMedia', { id: upload.media.id_encoded }, metadata);
    console.log(JSON.stringify({ upload: upload.media, stream: stream.media, get: get.media }));
  } finally {
    client.close();
  }
}

try {
  await main();
} catch (err) {
  // A gRPC status error carries a numeric `code` and `details`; fs errors have string codes.
  if (typeof err?.code === 'number' && 'details' in err) {
    console.log(JSON.stringify({ error: { code: err.code, details: err.details } }));
    process.exitCode = 1;
  } else {
    console.error(err?.stack ?? String(err));
    process.exitCode = 2;
  }
}
