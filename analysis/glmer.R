# The report's logistic mixed models, fitted with lme4::glmer (docs/analysis.md, "Mixed model").
#
# Called by analysis/glmm.py as
#   Rscript glmer.R models.csv out.csv CORES
# models.csv: dataset, model, file, subset, formula, derivs, max_evaluations (one row per fit)
#   file:    that dataset's trials: correct (0/1), participant, image, with_none (0/1) and the
#            fixed-effect design columns the formula names (built in Python, so every term's
#            meaning is known before the fit);
#   subset:  a 0/1 column of rows this model uses ("" = all);
#   derivs:  1 to let lme4 check convergence with finite-difference derivatives.
# out.csv:   dataset, model, kind, term, estimate, se   (long; kind is fixed, vcov, random,
#            singular, warning, optimizer, error, seconds)
# Each model is fitted, kept or dropped on its own: an error in one never takes the other down.
# An optimiser that stops with an error is followed by the next one (nloptwrap, bobyqa,
# Nelder_Mead), and the report says which one fitted. Every warning and message lme4 gives
# (some come as lists) is flattened to one line of text.
# Only base R and lme4: nothing else to install (Debian: r-base-core r-cran-lme4).

suppressPackageStartupMessages(library(lme4))

args <- commandArgs(trailingOnly = TRUE)
models <- read.csv(args[1], stringsAsFactors = FALSE)
cores <- as.integer(args[3])
optimizers <- c("nloptwrap", "bobyqa", "Nelder_Mead")

text <- function(x) {  # any condition message, list or vector -> one-line strings
  x <- as.character(unlist(x, use.names = FALSE))
  unique(trimws(gsub("[[:space:]]+", " ", x[nzchar(x)])))
}

row <- function(task, kind, term, estimate = NA_real_, se = NA_real_) {
  data.frame(dataset = task$dataset, model = task$model, kind = kind,
             term = as.character(unlist(term, use.names = FALSE)),
             estimate = estimate, se = se, stringsAsFactors = FALSE)
}

control <- function(optimizer, task) {
  budget <- task$max_evaluations
  settings <- switch(optimizer,
    # nloptwrap's default tolerances can stop dozens of steps short of the optimum on the
    # per-level model (deviance 0.8 above it); these reach it.
    nloptwrap = list(ftol_abs = 1e-10, xtol_abs = 1e-8, maxeval = budget),
    bobyqa = list(maxfun = budget),
    Nelder_Mead = list(maxfun = budget))
  glmerControl(optimizer = optimizer, calc.derivs = task$derivs == 1, optCtrl = settings)
}

attempt <- function(task, data, optimizer) {
  said <- character()
  fit <- withCallingHandlers(
    tryCatch(
      glmer(as.formula(task$formula), data = data, family = binomial, nAGQ = 1,
            control = control(optimizer, task)),
      error = function(e) e),
    warning = function(w) {
      said <<- c(said, conditionMessage(w))
      invokeRestart("muffleWarning")
    },
    message = function(m) {
      said <<- c(said, conditionMessage(m))
      invokeRestart("muffleMessage")
    })
  list(fit = fit, said = said)
}

fit_one <- function(i) {
  task <- models[i, ]
  started <- proc.time()[["elapsed"]]
  data <- read.csv(task$file, stringsAsFactors = FALSE)
  if (nzchar(task$subset)) data <- data[data[[task$subset]] == 1, ]
  data$participant <- factor(data$participant)
  data$image <- factor(data$image)
  failures <- character()
  for (optimizer in optimizers) {
    tried <- attempt(task, data, optimizer)
    if (!inherits(tried$fit, "error")) break
    failures <- c(failures, paste0(optimizer, ": ", conditionMessage(tried$fit)))
  }
  if (inherits(tried$fit, "error")) {
    return(row(task, "error", paste(text(failures), collapse = "; ")))
  }
  fit <- tried$fit
  said <- c(tried$said, fit@optinfo$conv$lme4$messages, fit@optinfo$warnings)
  if (length(failures)) said <- c(said, paste("fitted with", optimizer, "after",
                                              paste(text(failures), collapse = "; ")))
  beta <- fixef(fit)
  # vcov warns when the finite-difference Hessian is unusable and it falls back to RX.
  covariance <- withCallingHandlers(as.matrix(vcov(fit)), warning = function(w) {
    said <<- c(said, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  pairs <- expand.grid(a = names(beta), b = names(beta), stringsAsFactors = FALSE)
  random <- as.data.frame(VarCorr(fit))
  random_terms <- ifelse(is.na(random$var2), paste(random$grp, random$var1, sep = "|"),
                         paste(random$grp, random$var1, random$var2, sep = "|"))
  said <- text(said)
  rbind(
    row(task, "fixed", names(beta), unname(beta), sqrt(diag(covariance))),
    row(task, "vcov", paste(pairs$a, pairs$b, sep = "~"), as.vector(covariance)),
    row(task, "random", random_terms, random$sdcor),
    row(task, "singular", "", as.numeric(isSingular(fit))),
    row(task, "optimizer", optimizer),
    if (length(said)) row(task, "warning", said),
    row(task, "seconds", "", proc.time()[["elapsed"]] - started)
  )
}

safely <- function(i) {  # a crash inside one fit becomes that model's error row
  tryCatch(fit_one(i), error = function(e) {
    row(models[i, ], "error", paste(text(conditionMessage(e)), collapse = " "))
  })
}

tasks <- seq_len(nrow(models))
results <- if (cores > 1) {
  parallel::mclapply(tasks, safely, mc.cores = cores, mc.preschedule = FALSE)
} else {
  lapply(tasks, safely)
}
failed <- !vapply(results, is.data.frame, logical(1))
for (i in which(failed)) {
  results[[i]] <- row(models[i, ], "error",
                      paste("R process failed:", paste(text(results[[i]]), collapse = " ")))
}
write.csv(do.call(rbind, results), args[2], row.names = FALSE)
