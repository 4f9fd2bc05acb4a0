// Public API of the grades module: levels, the purchases they are judged on, and members' grades.
export type { GradesTables } from './grades.tables.ts';
export type { TGradeLevel } from './grades.schemas.ts';
export {
  gradeSettings,
  setGradeSettings,
  /** Counts a purchase or cancellation towards the member's grade. */
  recordPurchase,
  /** Evaluates one member now; emits member.grade_changed on a change. */
  evaluateMember,
  /** An operator's change with a reason. */
  changeGrade,
  gradeHistory,
  /** The review job: tenants whose cycle is due have every active member evaluated. */
  runGradeReviews,
} from './grades.service.ts';
export { gradeRoutes } from './grades.routes.ts';
