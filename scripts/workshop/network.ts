/** @file The addresses students can reach the workshop server at. */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

/** Every non-internal IPv4 address of this machine (or of the given interface table), in interface order. */
export function lanAddresses(
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): string[] {
  const found: string[] = [];
  for (const infos of Object.values(interfaces)) {
    for (const info of infos ?? []) {
      if (info.family === 'IPv4' && !info.internal && !found.includes(info.address)) found.push(info.address);
    }
  }
  return found;
}

/** The HTTPS address of the app on `host` (an IPv4 address or a host name) and `port`. */
export function workshopUrl(host: string, port: number): string {
  return `https://${host}:${port}/`;
}
