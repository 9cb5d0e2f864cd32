import net from 'node:net';
import { Aedes } from 'aedes';

/**
 * A bare aedes (the controller's embedded broker, without its auth hooks) in its own process,
 * for the broker ceiling. Prints its port on stdout; exits when its parent goes away.
 */
const broker = await Aedes.createBroker();
const server = net.createServer(broker.handle);
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
