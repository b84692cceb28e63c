// Signing in: the API sets an HttpOnly cookie; the console keeps no token of its own.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { signIn } from "../api";
import { usePageTitle } from "../hooks";
import { navigate, safeReturnPath, useLocation } from "../router";
import { SESSION_KEY } from "../session";

export default function SignInPage() {
  usePageTitle("Sign in");
  const { search } = useLocation();
  const queryClient = useQueryClient();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const attempt = useMutation({
    mutationFn: () => signIn(username, password),
    onSuccess: (session) => {
      setPassword("");
      queryClient.setQueryData(SESSION_KEY, session);
      navigate(safeReturnPath(search.get("next"), "/wall"), { replace: true });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    attempt.mutate();
  };
  return (
    <main id="main" className="sign-in">
      <h1>SPARC Video</h1>
      <form onSubmit={submit} className="sign-in-form" aria-describedby={attempt.isError ? "sign-in-error" : undefined}>
        <h2>Sign in</h2>
        <label htmlFor="username">Username</label>
        <input
          id="username"
          name="username"
          autoComplete="username"
          required
          value={username}
          onChange={(event) => setUsername(event.target.value)}
        />
        <label htmlFor="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
        {attempt.isError && (
          <p id="sign-in-error" className="error" role="alert">
            {attempt.error.message}
          </p>
        )}
        <button type="submit" disabled={attempt.isPending}>
          Sign in
        </button>
      </form>
    </main>
  );
}
