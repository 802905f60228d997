// The Kubernetes JavaScript client's exec (@kubernetes/client-node: its Exec and
// WebSocketHandler, unchanged) against a day2 agent's exec URL: the only change is the path,
// rewritten from the pod's to the container's by the wsInterface Exec accepts. Reports what it
// read from stdout and stderr, the status, stdin ended by v5's close message, and a TTY session
// sized by the client's own (lowercase) resize messages.
//
//   node exec_node_client.mjs PORT CONTAINER_ID
// The package is found in $DAY2_KUBERNETES_CLIENT_NODE (its directory, from
// `npm install @kubernetes/client-node`); exit 77 when it is not there. Prints one JSON object.
import { Readable, Writable } from 'node:stream';
import path from 'node:path';
import fs from 'node:fs';

const [port, cid] = process.argv.slice(2);
const dir = process.env.DAY2_KUBERNETES_CLIENT_NODE;
if (!dir || !fs.existsSync(path.join(dir, 'package.json'))) {
    console.log('@kubernetes/client-node is not installed (set DAY2_KUBERNETES_CLIENT_NODE)');
    process.exit(77);
}
const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
const k8s = await import(path.join(dir, pkg.exports?.['.']?.import ?? pkg.main));

const config = new k8s.KubeConfig();
config.loadFromOptions({
    clusters: [{ name: 'day2', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'day2' }],
    contexts: [{ name: 'day2', cluster: 'day2', user: 'day2' }],
    currentContext: 'day2',
});
// Not exported from the package's index: its own module.
const { WebSocketHandler } = await import(path.join(dir, 'dist', 'web-socket-handler.js'));
const handler = new WebSocketHandler(config);
// The pod's path becomes the container's; the query (command, stdin, stdout, tty, ...) is kept.
const day2Paths = {
    connect: (p, text, binary) =>
        handler.connect(`/system/v1/exec/v1/containers/${cid}?${p.split('?')[1]}`, text, binary),
};

function sink(extra = {}) {
    const w = new Writable({
        write(chunk, _encoding, done) {
            w.text += chunk.toString();
            done();
        },
    });
    return Object.assign(w, { text: '' }, extra);
}

function run(command, { stdin = null, tty = false, stdout = sink(), stderr = sink() } = {}) {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no status in 30 s')), 30000);
        new k8s.Exec(config, day2Paths)
            .exec('default', 'pod', 'container', command, stdout, tty ? null : stderr, stdin, tty,
                  (status) => {
                      clearTimeout(timer);
                      // The stream may still hold what arrived just before the status.
                      setImmediate(() =>
                          resolve({ status, stdout: stdout.text, stderr: stderr.text }));
                  })
            .catch(reject);
    });
}

const out = {};
let r = await run(['sh', '-c', 'echo out; echo err >&2; exit 3']);
out.stdout = r.stdout;
out.stderr = r.stderr;
out.status = r.status;

r = await run(['cat'], { stdin: Readable.from([Buffer.from('hello from node\n')]) });
out.echo = r.stdout;
out.echo_status = r.status.status;

// A resizable stdout (rows, columns, 'resize' events) makes Exec send {"height","width"}.
const terminal = sink({ rows: 33, columns: 111 });
// The size arrives after the command started: it waits for it (the status's timeout bounds it).
r = await run(['sh', '-c', 'until [ "$(stty size)" = "33 111" ]; do sleep 0.05; done; stty size'],
              { tty: true, stdout: terminal });
out.tty = r.stdout;
out.tty_status = r.status.status;
console.log(JSON.stringify(out));
process.exit(0);
