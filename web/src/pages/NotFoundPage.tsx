import { useDocumentTitle } from '../hooks.ts';
import { Link } from '../router.tsx';

export function NotFoundPage() {
  useDocumentTitle('Not found');
  return (
    <section className="page">
      <h1>Nothing here</h1>
      <p>
        This page does not exist. Go to the <Link href="/inbox">inbox</Link>.
      </p>
    </section>
  );
}
