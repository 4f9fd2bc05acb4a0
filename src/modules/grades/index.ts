// Public API of the grades module: levels, the purchases they are judged on, and members' grades.

export { gradeRoutes } from './grades.routes.ts';
export type { TGradeLevel } from './grades.schemas.ts';
export {
  /** An operator's change with a reason. */
  changeGrade,
  /** Evaluates one member now; emits member.grade_changed on a change. */
  evaluateMember,
  gradeHistory,
  gradeSettings,
  /** Counts a purchase or cancellation towards the member's grade. */
  recordPurchase,
  /** The review job: tenants whose cycle is due have every active member evaluated. */
  runGradeReviews,
  setGradeSettings,
} from './grades.service.ts';
export type { GradesTables } from './grades.tables.ts';
