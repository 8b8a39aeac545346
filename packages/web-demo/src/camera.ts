/**
 * Camera access: `getUserMedia` with the failures a visitor can meet turned into sentences (no camera, permission
 * denied, camera busy, page not served over HTTPS/localhost).
 */

export class CameraError extends Error {
  override readonly name = 'CameraError';
}

export function describeCameraError(error: unknown): string {
  const name = error && typeof error === 'object' && 'name' in error ? String((error as { name: unknown }).name) : '';
  const detail = error instanceof Error && error.message ? ` (${error.message})` : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return `Camera access was denied${detail}. Allow the camera for this site in the browser's settings and press “Start camera” again; you can still style an image file below.`;
    case 'NotFoundError':
    case 'OverconstrainedError':
      return `No camera was found${detail}. Connect one and try again, or style an image file below.`;
    case 'NotReadableError':
    case 'AbortError':
      return `The camera is in use by another application or could not be started${detail}.`;
    default:
      return `The camera could not be started: ${error instanceof Error ? error.message : String(error)}`;
  }
}

export async function openCamera(video: HTMLVideoElement): Promise<MediaStream> {
  if (!globalThis.isSecureContext) {
    throw new CameraError('The camera needs a secure page: open the demo over HTTPS or on localhost.');
  }
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new CameraError('This browser has no camera API (navigator.mediaDevices.getUserMedia); you can still style an image file below.');
  }
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: 'user', width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false,
    });
  } catch (error) {
    throw new CameraError(describeCameraError(error), { cause: error });
  }
  video.srcObject = stream;
  await video.play();
  return stream;
}

export function closeCamera(video: HTMLVideoElement, stream: MediaStream | null): void {
  for (const track of stream?.getTracks() ?? []) track.stop();
  video.srcObject = null;
}
