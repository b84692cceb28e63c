// A camera's picture: the latest still (refreshed every 5 s) until live video plays over it.
import { useState, type RefObject } from "react";
import { stillUrl } from "../api";
import { useTicker } from "../hooks";
import type { LiveState } from "../live";

const STILL_PERIOD_MS = 5000;

interface ScreenProps {
  cameraId: string;
  cameraName: string;
  state: LiveState;
  videoRef: RefObject<HTMLVideoElement | null>;
  /** Refresh the still while no video plays (false off-screen or in a hidden tab). */
  seen: boolean;
  controls?: boolean;
}

export function Screen({ cameraId, cameraName, state, videoRef, seen, controls = false }: ScreenProps) {
  const playing = state === "webrtc" || state === "hls";
  const tick = useTicker(STILL_PERIOD_MS, seen && !playing);
  const [stillMissing, setStillMissing] = useState(false);
  return (
    <div className="screen">
      {/* The video stays rendered under the still: browsers pause muted autoplay video
          that is not displayed, and no frame would ever come. */}
      <video
        ref={videoRef}
        className="live"
        aria-label={`Live video from ${cameraName}`}
        muted
        autoPlay
        playsInline
        controls={controls && playing}
      />
      <img
        className={playing || stillMissing ? "still hidden" : "still"}
        src={stillUrl(cameraId, tick)}
        alt={`Latest picture from ${cameraName}`}
        decoding="async"
        onLoad={() => setStillMissing(false)}
        onError={() => setStillMissing(true)}
      />
      {stillMissing && !playing && (
        <p className="no-picture">{state === "offline" ? "Offline" : "No picture yet"}</p>
      )}
    </div>
  );
}
